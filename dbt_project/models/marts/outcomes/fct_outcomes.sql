-- Outcomes as indicator x district x month, with numerator and denominator (resident population,
-- mid-2019), from police, NHS and housing feeds. Rates per 1,000 are numerator / denominator * 1000.
select
    e.indicator::text as indicator,
    e.lad_code::text as lad_code,
    e.month_start::date as month_start,
    {{ financial_year('e.month_start') }} as financial_year,
    e.months_covered::integer as months_covered,
    e.numerator::bigint as numerator,
    p.population::bigint as denominator
from {{ ref('int_outcome_events') }} as e
left join {{ ref('fct_population') }} as p on p.lad_code = e.lad_code
