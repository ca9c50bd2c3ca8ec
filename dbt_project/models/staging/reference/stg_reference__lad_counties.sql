-- District (April 2020 codes) to county, metropolitan county or Inner / Outer London, England.
-- One row per district: the area it lies in (county), as the latest published lookup says.
with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_county') }}

),

renamed as (

    select
        -- ids
        lad_code,
        area_code,
        'county'::text as area_level,

        -- names
        lad_name,
        area_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
