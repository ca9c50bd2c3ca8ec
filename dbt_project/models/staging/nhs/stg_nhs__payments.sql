-- One row per NHS body transaction over 25,000 pounds (transparency spend).
with

source as (

    select * from {{ source('raw_nhs', 'nhs__spend_over_25k') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        transaction_number,
        department_family,
        entity as body_name,
        supplier as supplier_name,
        upper(supplier) like '%REDACTED%' as is_supplier_redacted,
        expense_type,
        expense_area,
        amount,
        payment_date

    from source

)

select * from renamed
