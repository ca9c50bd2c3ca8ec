-- Outcomes as indicator x district x month, with numerator and denominator (resident population of
-- the financial year, fct_population), from police, NHS and housing feeds, and the feed each is
-- counted from. Rates per 1,000 are numerator / denominator * 1000. Counts of person-level feeds (A&E attendances, admissions,
-- lettings) are as int_outcome_cells_suppressed publishes them: 1-7 withheld (NULL, with the
-- months that would give them away), others rounded to 5 - the very decision the yearly marts read.
-- Open data (street crime, homelessness statistics) is counted as published.
select
    c.indicator::text as indicator,
    c.feed::text as feed,
    c.place_code::text as lad_code,
    c.month_start::date as month_start,
    c.financial_year::text as financial_year,
    c.months_covered::integer as months_covered,
    c.published_numerator::bigint as numerator,
    p.population::bigint as denominator
from {{ ref('int_outcome_cells_suppressed') }} as c
left join {{ ref('fct_population') }} as p on p.lad_code = c.place_code and p.financial_year = c.financial_year
where c.period <> 'all' and c.place_code <> 'all'
