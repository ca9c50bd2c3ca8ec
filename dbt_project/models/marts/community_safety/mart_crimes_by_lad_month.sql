-- Street crimes per local authority district, month and crime type, with the rate per 1,000
-- residents (mid-2019 population). Crimes without a location are not in this mart.
with

counts as (

    select * from {{ ref('int_street_crimes_counted') }}

),

lsoas as (

    select lsoa_code, lad_code from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

districts as (

    select * from {{ ref('dim_place') }}
    where place_level = 'lad'

),

counted as (

    select
        lsoas.lad_code,
        counts.month_start,
        counts.crime_type,
        sum(counts.crimes) as crimes

    from counts
    inner join lsoas on counts.lsoa_code = lsoas.lsoa_code
    group by lsoas.lad_code, counts.month_start, counts.crime_type

),

final as (

    select
        counted.lad_code,
        districts.place_name as lad_name,
        counted.month_start,
        counted.crime_type,
        counted.crimes::integer as crimes,
        districts.population,
        round(1000.0 * counted.crimes / nullif(districts.population, 0), 3)::numeric(12, 3) as crimes_per_1000

    from counted
    inner join districts on counted.lad_code = districts.place_code

)

select * from final
