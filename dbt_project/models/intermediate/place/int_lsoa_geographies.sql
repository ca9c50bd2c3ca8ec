-- One row per 2011 LSOA with every geography above it: MSOA (ONS names LSOAs after their MSOA
-- plus a letter, "Hartlepool 007A" in "Hartlepool 007"), ward, district, upper-tier authority,
-- region (England; from the April 2021 district lookup, through int_district_areas), CCG,
-- population and IMD rank.
with

lsoas as (

    select * from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

msoas as (

    select distinct msoa_code, msoa_name from {{ ref('stg_reference__msoa_ward_lookups') }}

),

utlas as (

    select * from {{ ref('stg_reference__lad_utla_lookups') }}

),

ccgs as (

    select * from {{ ref('stg_reference__lsoa_ccg_lookups') }}

),

populations as (

    select * from {{ ref('stg_reference__ons_lsoa_populations') }}

),

imd as (

    select * from {{ ref('stg_reference__imd_ranks') }}

),

regions as (

    select lad_code, area_code as region_code, area_name as region_name
    from {{ ref('int_district_areas') }}
    where area_level = 'region'

),

joined as (

    select
        lsoas.lsoa_code,
        lsoas.lsoa_name,
        msoas.msoa_code,
        msoas.msoa_name,
        lsoas.ward_code,
        lsoas.ward_name,
        lsoas.lad_code,
        lsoas.lad_name,
        coalesce(utlas.utla_code, lsoas.lad_code) as utla_code,
        coalesce(utlas.utla_name, lsoas.lad_name) as utla_name,
        regions.region_code,
        regions.region_name,
        ccgs.ccg_code,
        ccgs.ccg_name,
        populations.population,
        imd.imd_rank

    from lsoas
    left join msoas on msoas.msoa_name = left(lsoas.lsoa_name, length(lsoas.lsoa_name) - 1)
    left join utlas on utlas.lad_code = lsoas.lad_code
    left join ccgs on ccgs.lsoa_code = lsoas.lsoa_code
    left join populations on populations.lsoa_code = lsoas.lsoa_code
    left join imd on imd.lsoa_code = lsoas.lsoa_code
    left join regions on regions.lad_code = lsoas.lad_code

)

select * from joined
