-- One row per authority x service line x measure of the MHCLG revenue returns (RO outturn, RA budget),
-- in pounds. Service-level totals for a year: never added to transaction-level spend (stg_council__payments).
with

source as (

    select * from {{ source('raw_council', 'council__revenue_outturn') }}

),

renamed as (

    select
        -- ids
        _file_id as file_id,
        _row_number as row_number,
        _column_number as column_number,
        e_code as mhclg_code,
        ons_code as authority_code,

        -- who
        local_authority as authority_name,
        class as authority_class,
        detailed_class as authority_detailed_class,

        -- what
        return_code,
        case return_code when 'RO' then 'outturn' when 'RA' then 'budget' end as figure_kind,
        line as service_line,

        -- amounts: the returns are in £ thousand
        amount_thousands * 1000 as amount,
        amount_thousands_suppressed as is_amount_suppressed,

        -- when: financial year April to March, e.g. 2021-22 starts 2021-04-01
        financial_year,
        make_date(left(financial_year, 4)::int, 4, 1) as financial_year_start

    from source

)

select * from renamed
