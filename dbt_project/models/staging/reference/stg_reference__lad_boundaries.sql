-- District outlines (December 2021 codes), generalised, for maps: one row per district of the UK,
-- from the latest published boundary file.
with

source as (

    select * from {{ source('raw_reference', 'reference__ons_lad_boundaries') }}

),

renamed as (

    select
        -- ids
        lad_code,

        -- names
        lad_name,

        -- where
        longitude,
        latitude,
        geometry::jsonb as geometry,

        -- lineage
        _file_id as file_id

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
