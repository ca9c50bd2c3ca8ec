-- One row per month from 2000 to 2040 with its quarter, financial year (April to March, written
-- "2021-22" as the public sector does) and calendar year.
with

months as (

    select generate_series(date '2000-01-01', date '2040-12-01', interval '1 month')::date as month_start

)

select
    month_start,
    to_char(month_start, 'YYYY-MM')::text as month,
    date_trunc('quarter', month_start)::date as quarter_start,
    (extract(year from month_start)::int || '-Q' || extract(quarter from month_start)::int)::text as quarter,
    {{ financial_year('month_start') }} as financial_year,
    {{ financial_year_start('month_start') }} as financial_year_start,
    extract(year from month_start)::integer as calendar_year
from months
