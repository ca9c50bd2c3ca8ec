-- One row per place, at every level the platform knows so far: 2011 LSOAs and the local authority
-- districts they sit in (December 2019 boundaries), with mid-2019 resident population.
with

lookups as (

    select * from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

populations as (

    select * from {{ ref('stg_reference__ons_lsoa_populations') }}

),

lsoas as (

    select
        lookups.lsoa_code as place_code,
        lookups.lsoa_name as place_name,
        'lsoa' as place_level,
        lookups.lad_code,
        lookups.lad_name,
        populations.population

    from lookups
    left join populations on lookups.lsoa_code = populations.lsoa_code

),

districts as (

    select
        lad_code as place_code,
        lad_name as place_name,
        'lad' as place_level,
        lad_code,
        lad_name,
        sum(population)::integer as population

    from lsoas
    group by lad_code, lad_name

),

places as (

    select * from lsoas
    union all
    select * from districts

)

select
    place_code,
    place_name,
    place_level,
    lad_code,
    lad_name,
    population
from places
