-- Every spend line of every agency, with body, place, period, theme and basis, and lineage back
-- to the file and row (feed, file_id, row_number, and column_number for wide returns). Service
-- totals (basis outturn) and transaction lines are told apart by `basis`; the marts never add the
-- two together for the same body, place and year (see int_spend_by_district).
-- A line of a person-level feed is one patient's attendance or admission, so those feeds (basis
-- activity_cost) are here only as disclosure-controlled cells - file x financial year x district x
-- theme, no row, date, LSOA or diagnosis group, rounded - plus one row per file holding what is
-- withheld and the rounding (int_spend_lines_disclosed): each file still adds up to its total.
select
    feed::text as feed,
    file_id::bigint as file_id,
    row_number::bigint as row_number,
    column_number::integer as column_number,
    agency_type::text as agency_type,
    body_name::text as body_name,
    place_code::text as place_code,
    place_level::text as place_level,
    financial_year::text as financial_year,
    spend_date::date as spend_date,
    basis::text as basis,
    theme_code::text as theme_code,
    line_description::text as line_description,
    supplier_name::text as supplier_name,
    amount::numeric(18, 2) as amount
from {{ ref('int_spend_lines_disclosed') }}
