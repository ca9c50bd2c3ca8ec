-- One row per homelessness approach: the applicant as pseudonyms (reference and match key), the
-- duty owed and the cost of temporary accommodation.
with

source as (

    select * from {{ source('raw_housing', 'housing__homelessness_cases') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        _agreement as agreement_id,
        case_reference,
        applicant_key as applicant_pseudonym,
        match_key,
        year_of_birth,
        home_lsoa_code,
        approach_date,
        duty,
        temporary_accommodation_nights,
        cost

    from source

)

select * from renamed
