with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lsoa_population') }}

),

renamed as (

    select
        -- ids
        lsoa_code,
        lad_code_2019,

        -- counts
        population::integer as population,
        2019 as population_year,

        -- lineage
        _file_id as file_id

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
