with

source as (

    select * from {{ source('raw_council', 'council__spend_over_500') }}

),

renamed as (

    select
        -- ids
        _file_id as file_id,
        _row_number as row_number,
        transaction_number,
        invoice_number,
        supplier_id,

        -- who paid whom
        body_code,
        body_name,
        supplier_name,
        upper(supplier_name) like '%REDACTED%' as is_supplier_redacted,
        creditor_type,

        -- what for
        expense_area,
        expense_type,
        expense_code,
        spend_type,

        -- amounts
        amount,

        -- dates
        payment_date

    from source

)

select * from renamed
