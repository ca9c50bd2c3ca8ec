-- District (December 2019 codes) to police force area, England and Wales.
-- One row per district: the area it lies in (police_force_area), as the latest published lookup says.
with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_police_force_area') }}

),

renamed as (

    -- a district split between community safety partnerships is listed once per partnership
    select distinct
        -- ids
        lad_code,
        area_code,
        'police_force_area'::text as area_level,

        -- names
        lad_name,
        area_name

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
