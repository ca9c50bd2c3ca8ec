with

source as (

    select * from {{ source('raw_police', 'police__stop_and_search') }}

),

renamed as (

    select
        -- ids
        _file_id as file_id,
        _row_number as row_number,

        -- when and where
        searched_at,
        date_trunc('month', searched_at at time zone 'Europe/London')::date as month_start,
        latitude,
        longitude,

        -- what
        search_type,
        legislation,
        object_of_search,
        outcome,
        outcome = 'A no further action disposal' as is_no_further_action,
        part_of_policing_operation = 'True' as is_part_of_policing_operation,
        outcome_linked_to_object_of_search = 'True' as is_outcome_linked_to_object,

        -- who (published categories, no identifier)
        gender,
        age_range,
        self_defined_ethnicity,
        officer_defined_ethnicity

    from source

)

select * from renamed
