-- IMD 2019 score of each GP practice population (Fingertips); England rows left out.
with

source as (

    select * from {{ source('raw_nhs', 'nhs__practice_deprivation') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        area_code as practice_code,
        area_name as practice_name,
        time_period,
        value as imd_score

    from source
    where area_type = 'GP'

)

select * from renamed
