-- Nothing disappears between fct_spend and the marts: for every financial year, the spend in
-- fct_spend equals what mart_total_place counts in districts, plus dq_unplaced_spend, plus
-- dq_spend_not_in_total_place (within a penny per row, for the rounding of each to pence). The NHS
-- ICB's spend once vanished here: in fct_spend, in neither the mart nor a data-quality list.
with

fact as (

    select financial_year, sum(amount) as amount, count(*) as n
    from {{ ref('fct_spend') }}
    group by 1

),

counted as (

    select financial_year, sum(amount) as amount, count(*) as n
    from {{ ref('mart_total_place') }}
    where place_level = 'lad'
    group by 1

),

unplaced as (

    select financial_year, sum(amount) as amount, count(*) as n
    from {{ ref('dq_unplaced_spend') }}
    group by 1

),

not_counted as (

    select financial_year, sum(amount) as amount, count(*) as n
    from {{ ref('dq_spend_not_in_total_place') }}
    group by 1

),

years as (

    select financial_year from fact
    union select financial_year from counted
    union select financial_year from unplaced
    union select financial_year from not_counted

)

select
    years.financial_year,
    coalesce(fact.amount, 0) as in_fct_spend,
    coalesce(counted.amount, 0) as in_mart_total_place,
    coalesce(unplaced.amount, 0) as unplaced,
    coalesce(not_counted.amount, 0) as not_counted
from years
left join fact on fact.financial_year is not distinct from years.financial_year
left join counted on counted.financial_year is not distinct from years.financial_year
left join unplaced on unplaced.financial_year is not distinct from years.financial_year
left join not_counted on not_counted.financial_year is not distinct from years.financial_year
where abs(coalesce(fact.amount, 0) - coalesce(counted.amount, 0) - coalesce(unplaced.amount, 0)
          - coalesce(not_counted.amount, 0))
      > 0.01 * (coalesce(fact.n, 0) + coalesce(counted.n, 0) + coalesce(unplaced.n, 0) + coalesce(not_counted.n, 0)) + 0.01
