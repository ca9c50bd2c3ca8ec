-- One row per social housing letting; the tenant is a pseudonym of the landlord reference.
with

source as (

    select * from {{ source('raw_housing', 'housing__social_lettings') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        tenant_ref as tenant_pseudonym,
        letting_date,
        la_code,
        lsoa_code,
        tenancy_type,
        weekly_rent,
        household_type,
        main_reason,
        previously_homeless = 'Yes' as was_previously_homeless

    from source

)

select * from renamed
