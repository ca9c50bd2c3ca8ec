-- Children in care per district and financial year: how many (disclosure controlled, with
-- secondary suppression across districts), as a rate per 10,000 children, and what their care
-- costs. The child population is estimated as var('child_share_of_population') of all residents
-- (no age breakdown of the LSOA population is loaded yet); rates and costs per child use the
-- published, rounded count.
with

children as (

    select * from {{ ref('int_people_by_year') }} where is_child_in_care

),

cells as (

    select
        financial_year,
        case when grouping(lad_code) = 1 then 'all' else lad_code end as place_code,
        count(*) as children,
        sum(council_cost) as cost_of_care
    from children
    group by grouping sets ((financial_year, lad_code), (financial_year))

),

controlled as (

    {{ secondary_suppression('cells', 'children', ['place_code'], ['financial_year']) }}

),

populations as (

    select lad_code as place_code, max(lad_name) as place_name, sum(population) as population
    from {{ ref('int_lsoa_geographies') }}
    where lad_code in (select lad_code from children)
    group by lad_code

),

published as (

    select
        controlled.*,
        case when controlled.place_code = 'all' then (select sum(population) from populations)
             else populations.population end as population,
        populations.place_name
    from controlled
    left join populations on populations.place_code = controlled.place_code

)

select
    financial_year::text as financial_year,
    place_code::text as place_code,
    {{ cohort_place_name('place_code', 'place_name') }} as place_name,
    published_count::bigint as children_in_care,
    round(population * {{ var('child_share_of_population', 0.214) }})::bigint as children_estimated,
    round(10000.0 * published_count / nullif(population * {{ var('child_share_of_population', 0.214) }}, 0), 1)
        ::numeric(8, 1) as per_10000_children,
    {{ disclose_with('round(cost_of_care)', 'is_suppressed') }}::numeric(18, 0) as cost_of_care,
    round(cost_of_care / nullif(published_count, 0))::numeric(18, 0) as cost_per_child,
    is_suppressed::boolean as is_suppressed
from published
