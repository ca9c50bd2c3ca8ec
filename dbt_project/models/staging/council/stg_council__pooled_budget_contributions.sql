-- One row per contribution of a body to a pooled budget (Better Care Fund and the like) per year.
with

source as (

    select * from {{ source('raw_council', 'council__pooled_budgets') }}

),

renamed as (

    select
        _file_id as file_id,
        _row_number as row_number,
        la_code,
        pool_name,
        pool_type,
        financial_year,
        contributor as contributor_name,
        contributor_agency_type,
        contribution
    from source

)

select * from renamed
