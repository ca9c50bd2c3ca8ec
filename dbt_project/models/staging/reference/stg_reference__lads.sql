with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_names') }}

),

renamed as (

    select
        lad_code,
        lad_name,
        lad_name_welsh

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
