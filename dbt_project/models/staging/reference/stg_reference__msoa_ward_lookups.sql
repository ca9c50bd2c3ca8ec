with

source as (

    select * from {{ source('raw_reference', 'reference__ons_msoa_ward') }}

),

renamed as (

    select
        msoa_code,
        msoa_name,
        ward_code,
        ward_name,
        lad_code,
        lad_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
