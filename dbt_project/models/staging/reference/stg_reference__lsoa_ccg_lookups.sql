with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lsoa_ccg') }}

),

renamed as (

    select
        -- ids
        lsoa_code,
        ccg_code,
        ccg_short_code,

        -- names
        ccg_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
