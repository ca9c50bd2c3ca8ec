-- A quantity that two cohort marts publish is one figure: the same value in both, or withheld in
-- both. Differing decisions are how one mart gave away what another withheld (a district's cost
-- of care, withheld in mart_children_in_care, published as council_cost in
-- mart_multi_agency_cohort). A district missing from a mart has none of its people: 0 in the other.
with

cohort as (

    select financial_year, place_code, council_cost, police_cost
    from {{ ref('mart_multi_agency_cohort') }}
    where agencies_known_to = 'all'

),

care as (

    select financial_year, place_code, children_in_care, cost_of_care
    from {{ ref('mart_children_in_care') }}

),

offenders as (

    select financial_year, place_code, offenders, cost_of_crime
    from {{ ref('mart_offending_concentration') }}
    where top_percent = 100

)

select 'cost of care is not council_cost' as problem, cohort.financial_year, cohort.place_code
from cohort
left join care using (financial_year, place_code)
where care.place_code is null and cohort.council_cost is distinct from 0
    or care.place_code is not null and care.cost_of_care is distinct from cohort.council_cost

union all

select 'cost of crime is not police_cost', cohort.financial_year, cohort.place_code
from cohort
left join offenders using (financial_year, place_code)
where offenders.place_code is null and cohort.police_cost is distinct from 0
    or offenders.place_code is not null and offenders.cost_of_crime is distinct from cohort.police_cost

union all

select 'a mart has a district the cohort has not', financial_year, place_code
from (
    select financial_year, place_code from care
    union
    select financial_year, place_code from offenders
) as places
where not exists (
    select 1 from cohort where cohort.financial_year = places.financial_year and cohort.place_code = places.place_code
)
