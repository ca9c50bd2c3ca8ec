-- One row per authority x service line x measure of the MHCLG revenue returns (RO outturn, RA budget),
-- in pounds. Service-level totals for a year: never added to transaction-level spend (stg_council__payments).
with

source as (

    select * from {{ source('raw_council', 'council__revenue_outturn') }}

),

spaced as (

    select
        *,
        -- the first hyphen outside brackets separates the service from the measure
        -- ("Housing services (GFRA only) - Net Current Expenditure (C7 = C3 - C6)")
        regexp_replace(regexp_replace(line, '\s+', ' ', 'g'), '^((?:[^()-]|\([^)]*\))*?)\s*-\s*', '\1 - ')
            as spaced_line
    from source

),

split as (

    select
        *,
        case when spaced_line ~ '^(?:[^()-]|\([^)]*\))*? - ' then trim(split_part(spaced_line, ' - ', 1))
        end as service_part,
        case when spaced_line ~ '^(?:[^()-]|\([^)]*\))*? - '
            then trim(substr(spaced_line, length(split_part(spaced_line, ' - ', 1)) + 4))
            else trim(spaced_line)
        end as measure_part
    from spaced

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
        -- the column's header in two parts, its hyphen spaced and its spaces collapsed (MHCLG writes
        -- "Education services- Net Current Expenditure" and "Highways ... -  Net Current Expenditure");
        -- a header with no service part ("Net Current Expenditure (C7 = C3 - C6)" after the
        -- environmental columns) belongs to the service of the column before it
        coalesce(
            service_part,
            lag(service_part) over (partition by _file_id, _row_number order by _column_number)
        ) as service,
        measure_part as measure,

        -- amounts: the returns are in £ thousand
        amount_thousands * 1000 as amount,
        amount_thousands_suppressed as is_amount_suppressed,

        -- when: financial year April to March, e.g. 2021-22 starts 2021-04-01
        financial_year,
        make_date(left(financial_year, 4)::int, 4, 1) as financial_year_start

    from split

)

select * from renamed
