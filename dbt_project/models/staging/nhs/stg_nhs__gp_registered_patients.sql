with

source as (

    select * from {{ source('raw_nhs', 'nhs__gp_registered_patients') }}

),

renamed as (

    select
        -- ids
        _file_id as file_id,
        _row_number as row_number,
        practice_code,
        ons_ccg_code as ccg_code,

        -- place
        lsoa_code,

        -- breakdown
        sex,
        age,

        -- counts
        number_of_patients,

        -- dates
        extract_date

    from source

)

select * from renamed
