-- Households assessed and owed a homelessness duty per local authority and quarter; withheld counts NULL and flagged.
with

source as (

    select * from {{ source('raw_housing', 'housing__homelessness') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        la_code,
        la_name,
        quarter,
        make_date(left(quarter, 4)::int, (right(quarter, 1)::int - 1) * 3 + 1, 1) as quarter_start,
        households_assessed,
        owed_prevention_duty,
        owed_relief_duty,
        main_duty_owed,
        main_duty_owed_suppressed as is_main_duty_owed_suppressed

    from source

)

select * from renamed
