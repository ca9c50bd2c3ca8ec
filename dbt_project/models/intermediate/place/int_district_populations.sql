-- Resident population of every district (December 2019 codes, as the LSOA lookups have them) for
-- every year with an estimate: mid-2019 summed from LSOAs (all ages only), and each ONS mid-year
-- estimate by single year of age (mid-2020, mid-2021 ...) with the child population (0-17).
-- The mid-year estimates are on 2021 boundaries: a district made since 2019 (Buckinghamshire,
-- North and West Northamptonshire) is shared among the 2019 districts it joined by their mid-2019
-- shares (is_shared_from_successor), so every year has the same districts and adds up to the same
-- England total as the publisher's.
{{ config(materialized='table') }}  -- joined by district and year in every per-head figure

with

lsoa_populations as (

    select * from {{ ref('stg_reference__ons_lsoa_populations') }}

),

lsoa_lookups as (

    select * from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

by_age as (

    select * from {{ ref('stg_reference__area_populations_by_age') }}

),

successions as (

    select * from {{ ref('lad_code_successions') }}

),

mid_2019 as (

    select lsoa_lookups.lad_code, sum(lsoa_populations.population)::numeric as population
    from lsoa_populations
    inner join lsoa_lookups on lsoa_lookups.lsoa_code = lsoa_populations.lsoa_code
    group by lsoa_lookups.lad_code

),

-- a code of the estimates as the 2019 districts it stands for, with each one's share
code_shares as (

    select lad_code as code, lad_code, 1.0 as share, false as is_shared
    from mid_2019
    union all
    select successions.new_lad_code, successions.old_lad_code,
           mid_2019.population / sum(mid_2019.population) over (partition by successions.new_lad_code),
           true
    from successions
    inner join mid_2019 on mid_2019.lad_code = successions.old_lad_code

),

estimates as (

    select area_code, population_year,
           sum(population)::numeric as population,
           sum(population) filter (where age < 18)::numeric as child_population
    from by_age
    group by area_code, population_year

),

shared as (

    select code_shares.lad_code, estimates.population_year,
           estimates.population * code_shares.share as population,
           estimates.child_population * code_shares.share as child_population,
           code_shares.is_shared
    from estimates
    inner join code_shares on code_shares.code = estimates.area_code

)

select
    lad_code::text as lad_code,
    2019::integer as population_year,
    round(population)::bigint as population,
    null::bigint as child_population,
    'ONS mid-2019 estimates by LSOA (SAPE22)'::text as population_source,
    false as is_shared_from_successor
from mid_2019
-- an estimate by age of 2019, were one published, would be the better one
where not exists (select 1 from estimates where population_year = 2019)
union all
select
    lad_code::text,
    population_year::integer,
    round(population)::bigint,
    round(child_population)::bigint,
    ('ONS mid-' || population_year || ' estimates by single year of age (MYE2)')::text,
    is_shared
from shared
