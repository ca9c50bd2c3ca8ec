{{ config(materialized='table') }}

-- One disclosure decision for every outcome count any mart publishes, made once for all of them.
-- The outcome marts publish the same counts at nested grains - fct_outcomes per month,
-- mart_cost_per_outcome and mart_joint_outcomes (as a rate per 1,000 residents, which with the
-- published population is the count) per financial year - so a decision made per mart let a year
-- less its published months give a withheld month away. Here every count is a cell of one table
-- per indicator and financial year:
--
--   period (a month, or 'all': the financial year) x place_code (a district, or 'all')
--
-- Counts of a person-level feed (A&E attendances, admissions, lettings: one row per person's event)
-- are controlled as the cohort counts are: 1-7 withheld, others rounded to var('rounding_base'),
-- and secondary suppression along months (they add up to the year) and districts (they add up to
-- all places, which no mart publishes yet but one may) - so no published total has exactly one
-- withheld part, nor withheld parts adding up to 1-7. Counts of open data (street crime from
-- data.police.uk, MHCLG homelessness statistics) are published as they are. Materialised once per
-- build, so every mart reads the same decision.
with

events as (

    select
        *,
        {{ financial_year('month_start') }} as financial_year,
        feed = any({{ person_level_feeds() }}) as is_person_level
    from {{ ref('int_outcome_events') }}

),

cells as (

    select
        indicator,
        feed,
        is_person_level,
        financial_year,
        case when grouping(month_start) = 1 then 'all' else month_start::text end as period,
        case when grouping(lad_code) = 1 then 'all' else lad_code end as place_code,
        sum(numerator) as numerator,
        -- months the cell stands for: the months with a row, each covering months_covered (3 for a quarter)
        count(distinct month_start) * max(months_covered) as months_covered
    from events
    group by grouping sets (
        (indicator, feed, is_person_level, financial_year, month_start, lad_code),
        (indicator, feed, is_person_level, financial_year, lad_code),
        (indicator, feed, is_person_level, financial_year, month_start),
        (indicator, feed, is_person_level, financial_year))

),

person_level as (

    select * from cells where is_person_level

),

controlled as (

    {{ secondary_suppression('person_level', 'numerator', ['period', 'place_code'], ['indicator', 'financial_year'],
                             rounds=6) }}

),

decided as (

    select indicator, feed, is_person_level, financial_year, period, place_code, numerator, months_covered,
           is_suppressed, published_count
    from controlled
    union all
    select indicator, feed, is_person_level, financial_year, period, place_code, numerator, months_covered,
           false, numerator
    from cells
    where not is_person_level

)

select
    indicator::text as indicator,
    feed::text as feed,
    is_person_level::boolean as is_person_level,
    financial_year::text as financial_year,
    period::text as period,
    (case when period <> 'all' then period::date end)::date as month_start,
    place_code::text as place_code,
    months_covered::integer as months_covered,
    numerator::bigint as numerator,
    is_suppressed::boolean as is_suppressed,
    published_count::bigint as published_numerator
from decided
