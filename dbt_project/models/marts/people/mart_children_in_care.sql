-- Children in care per district and financial year: how many, as a rate per 10,000 children, and
-- what their care costs. The children in care are the people known to the council (its only
-- person-level feed is children's social care: the test assert_cohort_agencies_are_their_services
-- keeps that so) and their cost of care is their council cost, which mart_multi_agency_cohort
-- publishes too: both read the one disclosure decision of int_cohort_cells_suppressed, so neither
-- publishes what the other withholds. Counts 1-7 withheld, others rounded to 5, cost of care
-- withheld with its count, else rounded to £1,000. The child population is the ONS estimate of
-- residents aged 0-17 for the financial year (fct_population: the year's own estimate by age, else
-- the nearest - population_year says which); rates and costs per child use the published figures.
with

controlled as (

    -- every district of the cohort (one missing would say it has no children in care), in the
    -- years the council's extracts have children in care
    select *
    from {{ ref('int_cohort_cells_suppressed') }}
    where agency = 'council' and agencies_known_to = 'all'
        and financial_year in (
            select financial_year from {{ ref('int_cohort_cells_suppressed') }}
            where agency = 'council' and agencies_known_to = 'all' and place_code = 'all' and people > 0
        )

),

populations as (

    select lad_code as place_code, lad_name as place_name, financial_year, child_population,
           child_population_year as population_year
    from {{ ref('fct_population') }}
    where lad_code in (select place_code from controlled)

),

published as (

    select
        controlled.*,
        case when controlled.place_code = 'all'
            then (select sum(p.child_population) from populations as p where p.financial_year = controlled.financial_year)
            else populations.child_population end as child_population,
        (select max(p.population_year) from populations as p where p.financial_year = controlled.financial_year)
            as population_year,
        populations.place_name
    from controlled
    left join populations
        on populations.place_code = controlled.place_code and populations.financial_year = controlled.financial_year

)

select
    financial_year::text as financial_year,
    place_code::text as place_code,
    {{ cohort_place_name('place_code', 'place_name') }} as place_name,
    published_people::bigint as children_in_care,
    child_population::bigint as child_population,
    population_year::integer as population_year,
    round(10000.0 * published_people / nullif(child_population, 0), 1)::numeric(8, 1) as per_10000_children,
    published_cost::numeric(18, 0) as cost_of_care,
    round(published_cost / nullif(published_people, 0))::numeric(18, 0) as cost_per_child,
    is_suppressed::boolean as is_suppressed
from published
