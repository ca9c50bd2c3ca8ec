-- One row per council land or building holding.
with

source as (

    select * from {{ source('raw_council', 'council__land_assets') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        uprn,
        property_name,
        address,
        postcode,
        tenure,
        easting,
        northing,
        asset_type,
        holding_authority

    from source

)

select * from renamed
