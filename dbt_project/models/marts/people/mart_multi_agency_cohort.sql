-- People known to one agency, or to two or more (police, council children's services, housing,
-- NHS), per district and financial year, and what they cost in total: the pilots' "people at the
-- points where agencies meet". Disclosure controlled: counts 1-7 withheld, others rounded to 5,
-- secondary suppression across districts and agency counts; cost withheld with its count, and the
-- cost per person divided by the published (rounded) count so it cannot reveal the exact one.
with

people as (

    select
        *,
        case when agencies >= 2 then '2 or more' else '1' end as agencies_known_to
    from {{ ref('int_people_by_year') }}

),

cells as (

    select
        financial_year,
        case when grouping(lad_code) = 1 then 'all' else lad_code end as place_code,
        case when grouping(agencies_known_to) = 1 then 'all' else agencies_known_to end as agencies_known_to,
        count(*) as people,
        sum(total_cost) as total_cost,
        sum(police_cost) as police_cost,
        sum(council_cost) as council_cost,
        sum(housing_cost) as housing_cost,
        sum(nhs_cost) as nhs_cost
    from people
    group by grouping sets (
        (financial_year, lad_code, agencies_known_to), (financial_year, lad_code),
        (financial_year, agencies_known_to), (financial_year))

),

controlled as (

    {{ secondary_suppression('cells', 'people', ['place_code', 'agencies_known_to'], ['financial_year']) }}

)

select
    controlled.financial_year::text as financial_year,
    controlled.place_code::text as place_code,
    {{ cohort_place_name('controlled.place_code', 'places.place_name') }} as place_name,
    controlled.agencies_known_to::text as agencies_known_to,
    controlled.published_count::bigint as people,
    {{ disclose_with('round(controlled.total_cost)', 'controlled.is_suppressed') }}::numeric(18, 0) as total_cost,
    {{ disclose_with('round(controlled.police_cost)', 'controlled.is_suppressed') }}::numeric(18, 0) as police_cost,
    {{ disclose_with('round(controlled.council_cost)', 'controlled.is_suppressed') }}::numeric(18, 0) as council_cost,
    {{ disclose_with('round(controlled.housing_cost)', 'controlled.is_suppressed') }}::numeric(18, 0) as housing_cost,
    {{ disclose_with('round(controlled.nhs_cost)', 'controlled.is_suppressed') }}::numeric(18, 0) as nhs_cost,
    round(controlled.total_cost / nullif(controlled.published_count, 0))::numeric(18, 0) as cost_per_person,
    controlled.is_suppressed::boolean as is_suppressed
from controlled
left join {{ ref('dim_place') }} as places
    on places.place_code = controlled.place_code and places.place_level = 'lad'
