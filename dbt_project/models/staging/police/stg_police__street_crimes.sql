with

source as (

    select * from {{ source('raw_police', 'police__street_crime') }}

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
        longitude,
        latitude,
        location,

        -- period
        month as month_start,

        -- what happened
        crime_type,
        last_outcome_category,
        crime_type = 'Anti-social behaviour' as is_anti_social_behaviour,

        -- who reported it
        reported_by as reporting_force,
        falls_within as force_area,
        context

    from source

)

select * from renamed
