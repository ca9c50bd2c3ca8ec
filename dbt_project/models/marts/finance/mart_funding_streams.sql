-- Funding streams per authority and financial year: how many it received, how much, and the
-- ring-fenced share - from the financing lines of its revenue return (RA budget, or RO outturn),
-- where income is written as a negative number. A stream with a net payment out (a business rates
-- tariff) is not "received": it is left out of the count, the total and the share.
with

lines as (

    select * from {{ ref('stg_council__revenue_lines') }}

),

streams as (

    select * from {{ ref('dim_funding_stream') }}

),

received as (

    select
        lines.authority_code,
        lines.authority_name,
        lines.financial_year,
        lines.figure_kind,
        streams.stream_code,
        streams.is_ring_fenced,
        -lines.amount as amount

    from lines
    inner join streams on streams.return_line = lines.service_line
    where lines.amount < 0

)

select
    authority_code::text as authority_code,
    authority_name::text as authority_name,
    financial_year::text as financial_year,
    figure_kind::text as figure_kind,
    count(distinct stream_code)::integer as funding_streams,
    sum(amount)::numeric(18, 2) as total_funding,
    (sum(amount) filter (where is_ring_fenced))::numeric(18, 2) as ring_fenced_funding,
    round(coalesce(sum(amount) filter (where is_ring_fenced), 0) / nullif(sum(amount), 0), 4)::numeric(6, 4)
        as ring_fenced_share
from received
group by authority_code, authority_name, financial_year, figure_kind
