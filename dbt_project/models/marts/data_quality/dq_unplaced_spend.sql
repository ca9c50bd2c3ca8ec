-- Spend that could not be placed in a district (no body place, or an area with no district lookup
-- yet, such as police force areas): excluded from per-place marts, counted here.
select
    feed::text as feed,
    agency_type::text as agency_type,
    body_name::text as body_name,
    body_place_code::text as place_code,
    body_place_level::text as place_level,
    financial_year::text as financial_year,
    count(*)::bigint as spend_lines,
    sum(amount)::numeric(18, 2) as amount
from {{ ref('int_spend_by_district') }}
where lad_code is null
group by 1, 2, 3, 4, 5, 6
