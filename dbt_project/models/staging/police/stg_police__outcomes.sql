with

source as (

    select * from {{ source('raw_police', 'police__outcomes') }}

),

renamed as (

    select
        -- ids
        crime_id,
        _file_id as file_id,
        _row_number as row_number,

        -- place
        lsoa_code,
        lsoa_name,

        -- period
        month as month_start,

        -- outcome
        outcome_type,
        reported_by as reporting_force,
        falls_within as force_area

    from source

)

select * from renamed
