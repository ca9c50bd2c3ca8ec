-- Dwellings by tenure per local authority and year (the England row is never loaded).
with

source as (

    select * from {{ source('raw_housing', 'housing__dwelling_stock') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        la_code,
        la_name,
        year,
        local_authority_owned,
        private_registered_provider,
        other_public_sector,
        private_sector,
        total as total_dwellings

    from source

)

select * from renamed
