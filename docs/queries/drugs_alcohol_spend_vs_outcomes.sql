-- Spend per head on drugs & alcohol against its outcomes, for one place (here Barnet, E09000003)
select financial_year, indicator, spend, spend_per_head, outcomes, outcomes_per_1000, months_with_data,
       cost_per_outcome
from marts.mart_cost_per_outcome
where lad_code = 'E09000003' and theme_code = 'drugs_alcohol'
order by financial_year, indicator;
