-- One row per A&E attendance; the patient is a pseudonym (HMAC of the NHS number), never the number.
with

source as (

    select * from {{ source('raw_nhs', 'nhs__ae_attendances') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        attendance_id,
        nhs_number as patient_pseudonym,
        nhs_number_is_valid as is_nhs_number_valid,
        year_of_birth,
        match_key,
        home_lsoa_code,
        sex,
        lsoa_code,
        arrival_date,
        provider_code,
        diagnosis_group,
        disposal,
        cost

    from source

)

select * from renamed
