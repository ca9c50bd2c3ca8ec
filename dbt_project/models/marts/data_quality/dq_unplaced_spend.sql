-- Spend that could not be placed in a district, and why: no body place, an area with no district
-- lookup yet (police force areas), or person-level activity withheld by disclosure control (with
-- the rounding of what is published: one row per file in fct_spend). Excluded from per-place marts,
-- counted here, so every pound of every file is somewhere.
select
    feed::text as feed,
    agency_type::text as agency_type,
    body_name::text as body_name,
    body_place_code::text as place_code,
    body_place_level::text as place_level,
    financial_year::text as financial_year,
    unplaced_reason::text as reason,
    count(*)::bigint as spend_lines,
    sum(amount)::numeric(18, 2) as amount
from {{ ref('int_spend_by_district') }}
where lad_code is null
group by 1, 2, 3, 4, 5, 6, 7
