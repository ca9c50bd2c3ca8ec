-- District (April 2023 codes) to upper-tier authority, England and Wales.
-- One row per district: the area it lies in (upper_tier), as the latest published lookup says.
with

source as (

    select * from {{ source('raw_reference', 'reference__ons_ltla_utla_2023') }}

),

renamed as (

    select
        -- ids
        lad_code,
        area_code,
        'upper_tier'::text as area_level,

        -- names
        lad_name,
        area_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
