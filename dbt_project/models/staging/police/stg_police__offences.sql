-- One row per offence with an identified offender. The offender is a pseudonym (keyed hash of the
-- force's person ID) plus a match key (keyed hash of name + date of birth + postcode) for linking
-- with other agencies; no name, date of birth or postcode exists here.
with

source as (

    select * from {{ source('raw_police', 'police__offences') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        _agreement as agreement_id,
        crime_reference,
        offender_key as offender_pseudonym,
        match_key,
        year_of_birth,
        home_lsoa_code,
        offence_date,
        offence_type,
        offence_lsoa_code,
        outcome

    from source

)

select * from renamed
