-- Street crimes per local authority district, month and crime type, with the rate per 1,000
-- residents (the population of the month's financial year, fct_population). Crimes without a
-- location are not in this mart.
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

populations as (

    select * from {{ ref('fct_population') }}

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
        populations.population::integer as population,
        round(1000.0 * counted.crimes / nullif(populations.population, 0), 3)::numeric(12, 3) as crimes_per_1000

    from counted
    inner join districts on counted.lad_code = districts.place_code
    left join populations
        on populations.lad_code = counted.lad_code
        and populations.financial_year = {{ financial_year('counted.month_start') }}

)

select * from final
