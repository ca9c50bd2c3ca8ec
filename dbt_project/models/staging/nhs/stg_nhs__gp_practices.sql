-- GP practices from the ODS register (latest extract), one row per practice.
with

source as (

    select * from {{ source('raw_nhs', 'nhs__gp_practices') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        practice_code,
        practice_name,
        postcode,
        commissioner as commissioner_code,
        health_geography as health_geography_code,
        status_code,
        status_code = 'A' as is_active,
        open_date,
        close_date,
        prescribing_setting

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
