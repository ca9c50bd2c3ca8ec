-- What a theme's spend buys: spend on a theme in a district and financial year (all agencies,
-- mart_total_place) divided by the outcome counts it is meant to move (seed outcome_themes), with
-- the change against the previous financial year. Periods without outcome data give no row. A count
-- of a person-level feed is the published (rounded) one, withheld (NULL) with everything divided by it.
with

spend as (

    select place_code as lad_code, financial_year, theme_code, sum(amount) as spend,
           bool_or(is_synthetic) as spend_is_synthetic
    from {{ ref('mart_total_place') }}
    where place_level = 'lad'
    group by 1, 2, 3

),

outcomes as (

    -- the year's count as int_outcome_cells_suppressed publishes it (never the sum of fct_outcomes'
    -- months: rounded or withheld, those do not add up - and the decision is made for both at once)
    select c.place_code as lad_code, c.financial_year, c.indicator, c.published_numerator as outcomes,
           p.population, c.months_covered as months_with_data,
           coalesce(s.is_synthetic, false) as outcomes_are_synthetic
    from {{ ref('int_outcome_cells_suppressed') }} as c
    left join {{ ref('fct_population') }} as p on p.lad_code = c.place_code and p.financial_year = c.financial_year
    left join {{ ref('int_outcomes_synthetic') }} as s
        on s.feed = c.feed and s.lad_code = c.place_code and s.financial_year = c.financial_year
    where c.period = 'all' and c.place_code <> 'all'

),

joined as (

    select
        spend.lad_code,
        spend.financial_year,
        spend.theme_code,
        outcome_themes.indicator,
        spend.spend,
        outcomes.outcomes,
        outcomes.months_with_data,
        outcomes.population,
        spend.spend_is_synthetic or outcomes.outcomes_are_synthetic as is_synthetic,
        spend.spend / nullif(outcomes.outcomes, 0) as cost_per_outcome

    from spend
    inner join {{ ref('outcome_themes') }} as outcome_themes on outcome_themes.theme_code = spend.theme_code
    inner join outcomes
        on outcomes.lad_code = spend.lad_code
        and outcomes.financial_year = spend.financial_year
        and outcomes.indicator = outcome_themes.indicator

)

select
    joined.lad_code::text as lad_code,
    dim_place.place_name::text as lad_name,
    joined.financial_year::text as financial_year,
    joined.theme_code::text as theme_code,
    joined.indicator::text as indicator,
    round(joined.spend, 2)::numeric(18, 2) as spend,
    round(joined.spend / nullif(joined.population, 0), 2)::numeric(18, 2) as spend_per_head,
    joined.outcomes::bigint as outcomes,
    joined.months_with_data::integer as months_with_data,
    round(1000.0 * joined.outcomes / nullif(joined.population, 0), 3)::numeric(12, 3) as outcomes_per_1000,
    round(joined.cost_per_outcome, 2)::numeric(18, 2) as cost_per_outcome,
    -- a year's spend against a part year's outcomes overstates the cost: scaled to twelve months
    round(joined.spend / nullif(joined.outcomes * 12.0 / nullif(joined.months_with_data, 0), 0), 2
    )::numeric(18, 2) as cost_per_outcome_annualised,
    -- the latest earlier year with both spend and outcomes (named: years without data are skipped)
    (lag(joined.financial_year) over trend)::text as previous_financial_year,
    round(lag(joined.cost_per_outcome) over trend, 2)::numeric(18, 2) as previous_year_cost_per_outcome,
    joined.is_synthetic::boolean as is_synthetic
from joined
inner join {{ ref('dim_place') }} as dim_place
    on dim_place.place_code = joined.lad_code and dim_place.place_level = 'lad'
window trend as (partition by joined.lad_code, joined.theme_code, joined.indicator order by joined.financial_year)
