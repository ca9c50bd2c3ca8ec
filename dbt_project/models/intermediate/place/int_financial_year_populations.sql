-- Resident population per district and financial year: the denominator of every per-head figure and
-- rate of that year, and the weights by which a wider area's spend of that year is shared among its
-- districts (int_spend_by_district). A year's figure is the ONS estimate of its own mid-year (30
-- June, inside the financial year: 2021-22 uses mid-2021); a year with no estimate loaded uses the
-- latest one before it (or, before the first, the first) and says so - population_year is the
-- estimate's year. child_population (ages 0-17) is of the nearest estimate by age in the same way
-- (the mid-2019 one has no ages: 2019-20 uses mid-2020's children), child_population_year says
-- which.
{{ config(materialized='table') }}  -- joined by district and year in every share and per-head figure

with

populations as (

    select * from {{ ref('int_district_populations') }}

),

names as (

    select lad_code, min(lad_name) as lad_name
    from {{ ref('stg_reference__ons_lsoa_lookups') }}
    group by lad_code

),

financial_years as (

    select distinct financial_year, extract(year from financial_year_start)::integer as start_year
    from {{ ref('dim_period') }}

),

years_loaded as (

    select population_year, bool_or(child_population is not null) as has_ages
    from populations
    group by population_year

),

-- the estimate each financial year uses: its own mid-year, else the latest earlier, else the first;
-- for children the same among the estimates by age (the mid-2019 LSOA one has none)
chosen as (

    select
        financial_years.financial_year,
        financial_years.start_year,
        coalesce(
            (select max(population_year) from years_loaded where population_year <= financial_years.start_year),
            (select min(population_year) from years_loaded)
        ) as population_year,
        coalesce(
            (select max(population_year) from years_loaded
             where has_ages and population_year <= financial_years.start_year),
            (select min(population_year) from years_loaded where has_ages)
        ) as child_population_year
    from financial_years

)

select
    populations.lad_code::text as lad_code,
    names.lad_name::text as lad_name,
    chosen.financial_year::text as financial_year,
    populations.population_year::integer as population_year,
    (populations.population_year = chosen.start_year)::boolean as is_population_of_year,
    populations.population::bigint as population,
    children.child_population::bigint as child_population,
    children.population_year::integer as child_population_year,
    populations.population_source::text as population_source
from chosen
inner join populations on populations.population_year = chosen.population_year
left join populations as children
    on children.population_year = chosen.child_population_year and children.lad_code = populations.lad_code
left join names on names.lad_code = populations.lad_code
