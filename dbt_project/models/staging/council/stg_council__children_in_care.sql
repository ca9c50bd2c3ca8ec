-- One row per episode of care of a looked-after child: the child as pseudonyms (council ID, NHS
-- number, match key), placement, dates and weekly cost.
with

source as (

    select * from {{ source('raw_council', 'council__children_in_care') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        _agreement as agreement_id,
        child_key as child_pseudonym,
        nhs_number as patient_pseudonym,
        nhs_number_is_valid as is_nhs_number_valid,
        match_key,
        year_of_birth,
        home_lsoa_code,
        legal_status,
        placement_type,
        period_start,
        period_end,
        weekly_cost

    from source

)

select * from renamed
