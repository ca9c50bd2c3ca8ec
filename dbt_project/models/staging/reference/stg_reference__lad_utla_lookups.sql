with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_utla') }}

),

renamed as (

    select
        -- ids
        lad_code,
        utla_code,

        -- names
        lad_name,
        utla_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
