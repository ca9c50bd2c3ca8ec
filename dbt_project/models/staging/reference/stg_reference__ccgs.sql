with

source as (

    select * from {{ source('raw_reference', 'reference__ons_ccg_names') }}

),

renamed as (

    select
        ccg_code,
        ccg_nhs_code,
        ccg_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
