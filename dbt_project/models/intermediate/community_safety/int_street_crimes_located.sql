-- Street crimes with the local authority district of their LSOA. Crimes with no LSOA (no map
-- point) keep a null district: they are counted in the staging model, not placed in a mart.
with

crimes as (

    select * from {{ ref('stg_police__street_crimes') }}

),

lookups as (

    select * from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

located as (

    select
        crimes.file_id,
        crimes.row_number,
        crimes.crime_id,
        crimes.month_start,
        crimes.crime_type,
        crimes.is_anti_social_behaviour,
        crimes.lsoa_code,
        lookups.lad_code,
        lookups.lad_name

    from crimes
    left join lookups on crimes.lsoa_code = lookups.lsoa_code

)

select * from located
