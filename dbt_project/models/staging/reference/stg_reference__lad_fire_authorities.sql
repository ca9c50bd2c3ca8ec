-- District (December 2019 codes) to fire and rescue authority, England and Wales.
-- One row per district: the area it lies in (fire_authority), as the latest published lookup says.
with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_fire_authority') }}

),

renamed as (

    select
        -- ids
        lad_code,
        area_code,
        'fire_authority'::text as area_level,

        -- names
        lad_name,
        area_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
