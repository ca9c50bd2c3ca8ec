-- Every district of England (2019 codes, as the LSOA lookups have them) lies in a region.
-- (Read from the lookups, not int_lsoa_geographies: a filter on that view's region is planned as
-- nested loops over its staging CTEs and took minutes.)
with

districts as (

    select distinct lad_code, lad_name from {{ ref('stg_reference__ons_lsoa_lookups') }}
    where lad_code like 'E%'

),

regions as (

    select lad_code from {{ ref('int_district_areas') }} where area_level = 'region'

)

select districts.* from districts
where not exists (select 1 from regions where regions.lad_code = districts.lad_code)
