-- One row per inpatient spell; the patient is a pseudonym, never the NHS number.
with

source as (

    select * from {{ source('raw_nhs', 'nhs__hospital_admissions') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        spell_id,
        nhs_number as patient_pseudonym,
        nhs_number_is_valid as is_nhs_number_valid,
        year_of_birth,
        match_key,
        home_lsoa_code,
        lsoa_code,
        admission_date,
        discharge_date,
        discharge_date - admission_date as length_of_stay_days,
        admission_method,
        diagnosis_group,
        cost

    from source

)

select * from renamed
