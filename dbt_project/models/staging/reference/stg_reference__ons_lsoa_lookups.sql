with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lsoa_lookup') }}

),

renamed as (

    select
        -- ids
        lsoa_code,
        ward_code,
        lad_code,

        -- names
        lsoa_name,
        ward_name,
        lad_name,

        -- lineage
        _file_id as file_id

    from source
    -- a newer release of the lookup replaces the older one as a whole
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
