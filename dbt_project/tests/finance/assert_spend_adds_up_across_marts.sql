-- Nothing disappears between fct_spend and the marts: for every financial year, the spend in
-- fct_spend equals what mart_total_place counts in districts, plus dq_unplaced_spend, plus
-- dq_spend_not_in_total_place (within a penny per row, for the rounding of each to pence). The NHS
-- ICB's spend once vanished here: in fct_spend, in neither the mart nor a data-quality list.
with

parts as (

    select financial_year, amount, 'in_fct_spend' as part from {{ ref('fct_spend') }}
    union all
    select financial_year, amount, 'in_mart_total_place' from {{ ref('mart_total_place') }} where place_level = 'lad'
    union all
    select financial_year, amount, 'unplaced' from {{ ref('dq_unplaced_spend') }}
    union all
    select financial_year, amount, 'not_counted' from {{ ref('dq_spend_not_in_total_place') }}

)

select
    financial_year,
    coalesce(sum(amount) filter (where part = 'in_fct_spend'), 0) as in_fct_spend,
    coalesce(sum(amount) filter (where part = 'in_mart_total_place'), 0) as in_mart_total_place,
    coalesce(sum(amount) filter (where part = 'unplaced'), 0) as unplaced,
    coalesce(sum(amount) filter (where part = 'not_counted'), 0) as not_counted
from parts
group by financial_year
having abs(coalesce(sum(amount) filter (where part = 'in_fct_spend'), 0)
           - coalesce(sum(amount) filter (where part <> 'in_fct_spend'), 0))
       > 0.01 * count(*) + 0.01
