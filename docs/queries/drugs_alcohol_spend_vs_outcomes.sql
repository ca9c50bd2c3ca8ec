-- Spend per head on drugs and on alcohol, each against its own outcomes, for one place (here
-- Barnet, E09000003): Leicester's question. Spend whose line does not say which of the two it is
-- (e.g. "substance misuse") is theme drugs_alcohol and has no outcome of its own: see mart_total_place.
select financial_year, theme_code, indicator, spend, spend_per_head, outcomes, outcomes_per_1000,
       months_with_data, cost_per_outcome
from marts.mart_cost_per_outcome
where lad_code = 'E09000003' and theme_code in ('drugs', 'alcohol')
order by financial_year, theme_code, indicator;
