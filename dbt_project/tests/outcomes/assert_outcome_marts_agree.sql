-- A count two outcome marts publish is one figure: the year's count in mart_cost_per_outcome and
-- behind the rate of mart_joint_outcomes is the one int_outcome_cells_suppressed decided for the
-- year - withheld there when it is withheld in fct_outcomes' decision, never a sum of the
-- published months (which a withheld or rounded month would make a different, and revealing,
-- figure) - and fct_outcomes' months are that decision's months.
with

cells as (

    select * from {{ ref('int_outcome_cells_suppressed') }}
    where place_code <> 'all'

)

select 'fct_outcomes is not the decision' as problem, f.indicator, f.lad_code, f.month_start::text as period
from {{ ref('fct_outcomes') }} as f
left join cells as c
    on c.indicator = f.indicator and c.place_code = f.lad_code and c.month_start = f.month_start
where c.indicator is null or f.numerator is distinct from c.published_numerator

union all

select 'mart_cost_per_outcome is not the decision', m.indicator, m.lad_code, m.financial_year
from {{ ref('mart_cost_per_outcome') }} as m
left join cells as c
    on c.indicator = m.indicator and c.place_code = m.lad_code and c.financial_year = m.financial_year
    and c.period = 'all'
where c.indicator is null or m.outcomes is distinct from c.published_numerator

union all

select 'mart_joint_outcomes is not the decision', j.indicator, j.lad_code, j.financial_year
from {{ ref('mart_joint_outcomes') }} as j
inner join cells as c
    on c.indicator || '_per_1000' = j.indicator and c.place_code = j.lad_code
    and c.financial_year = j.financial_year and c.period = 'all'
left join {{ ref('fct_population') }} as p on p.lad_code = j.lad_code and p.financial_year = j.financial_year
where j.value is distinct from round(1000.0 * c.published_numerator / nullif(p.population, 0), 3)
