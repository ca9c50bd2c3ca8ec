-- ONS mid-year population by area (2021 boundaries) and single year of age, one row per area x
-- year x age, for every year published (a revised release of a year has superseded the earlier
-- one at intake, so raw holds one file per year).
with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_population_by_age') }}

),

renamed as (

    select
        -- ids
        area_code,
        population_year,
        -- "90+" is everyone aged 90 and over: kept as 90, the youngest age it holds
        replace(age, '+', '')::integer as age,

        -- what
        area_name,
        geography as area_type,
        age = '90+' as is_open_ended_age,

        -- counts
        population::bigint as population,
        all_ages::bigint as area_all_ages,

        -- lineage
        _file_id as file_id

    from source

)

select * from renamed
