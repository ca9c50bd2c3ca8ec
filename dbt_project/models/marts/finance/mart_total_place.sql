-- Total Place: public spend per place, financial year, agency and theme, and per head - for every
-- district and every named group of districts (seed place_groups).
-- Never double-counted: int_spend_counted decides which placed lines count (service totals or
-- activity costs win over a body's transaction lines); the rest is in dq_spend_not_in_total_place.
with

counted as (

    select * from {{ ref('int_spend_counted') }}
    where is_counted

),

districts as (

    select lad_code as place_code, 'lad' as place_level, financial_year, agency_type, theme_code,
           sum(amount) as amount, count(*) as spend_lines
    from counted
    group by lad_code, financial_year, agency_type, theme_code

),

groups as (

    select g.group_code as place_code, 'group' as place_level, d.financial_year, d.agency_type, d.theme_code,
           sum(d.amount) as amount, sum(d.spend_lines) as spend_lines
    from districts as d
    inner join {{ ref('place_groups') }} as g on g.lad_code = d.place_code
    group by g.group_code, d.financial_year, d.agency_type, d.theme_code

),

places as (

    select * from districts
    union all
    select * from groups

)

select
    places.place_code::text as place_code,
    dim_place.place_name::text as place_name,
    places.place_level::text as place_level,
    places.financial_year::text as financial_year,
    places.agency_type::text as agency_type,
    places.theme_code::text as theme_code,
    themes.theme_name::text as theme_name,
    round(places.amount, 2)::numeric(18, 2) as amount,
    dim_place.population::integer as population,
    round(places.amount / nullif(dim_place.population, 0), 2)::numeric(18, 2) as amount_per_head,
    places.spend_lines::bigint as spend_lines
from places
inner join {{ ref('dim_place') }} as dim_place
    on dim_place.place_code = places.place_code and dim_place.place_level = places.place_level
inner join {{ ref('themes') }} as themes on themes.theme_code = places.theme_code
