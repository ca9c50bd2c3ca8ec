-- A small joint indicator set across police, NHS, housing and council - per district and financial
-- year - each ranked against the district's ten statistical neighbours (mart_place_neighbours):
-- rank 1 = the highest value among the district and those neighbours that have data.
-- A rate times the published population is the count: a rate of a person-level count is of the
-- year's count as int_outcome_cells_suppressed publishes it (rounded; NULL when withheld), and ranks
-- and averages compare published values only - a withheld value has no rank.
with

outcome_rates as (

    select
        c.place_code as lad_code,
        c.financial_year,
        case c.indicator
            when 'crimes' then 'police'
            when 'homelessness_main_duty' then 'housing'
            else 'nhs'
        end as agency_type,
        c.indicator || '_per_1000' as indicator,
        1000.0 * c.published_numerator / nullif(p.population, 0) as value,
        coalesce(s.is_synthetic, false) as is_synthetic
    from {{ ref('int_outcome_cells_suppressed') }} as c
    left join {{ ref('fct_population') }} as p on p.lad_code = c.place_code and p.financial_year = c.financial_year
    left join {{ ref('int_outcomes_synthetic') }} as s
        on s.feed = c.feed and s.lad_code = c.place_code and s.financial_year = c.financial_year
    where c.indicator in ('crimes', 'ae_attendances', 'emergency_admissions', 'homelessness_main_duty')
        and c.period = 'all' and c.place_code <> 'all'

),

council_spend as (

    select place_code as lad_code, financial_year, 'council' as agency_type,
           'council_spend_per_head' as indicator, sum(amount_per_head) as value, bool_or(is_synthetic) as is_synthetic
    from {{ ref('mart_total_place') }}
    where place_level = 'lad' and agency_type = 'council'
    group by place_code, financial_year

),

indicators as (

    select * from outcome_rates
    union all
    select * from council_spend

),

neighbours as (

    select lad_code, neighbour_code from {{ ref('mart_place_neighbours') }}

),

peer_values as (

    select
        own.lad_code,
        own.financial_year,
        own.indicator,
        count(peer.value) as neighbours_with_data,
        count(*) filter (where peer.value > own.value) as neighbours_above,
        avg(peer.value) as neighbour_average
    from indicators as own
    left join neighbours on neighbours.lad_code = own.lad_code
    left join indicators as peer
        on peer.lad_code = neighbours.neighbour_code
        and peer.financial_year = own.financial_year
        and peer.indicator = own.indicator
    group by own.lad_code, own.financial_year, own.indicator

)

select
    indicators.lad_code::text as lad_code,
    dim_place.place_name::text as lad_name,
    indicators.financial_year::text as financial_year,
    indicators.agency_type::text as agency_type,
    indicators.indicator::text as indicator,
    round(indicators.value::numeric, 3)::numeric(18, 3) as value,
    round(peer_values.neighbour_average::numeric, 3)::numeric(18, 3) as neighbour_average,
    peer_values.neighbours_with_data::integer as neighbours_with_data,
    (case when indicators.value is not null then 1 + peer_values.neighbours_above end)::integer
        as rank_among_neighbours,
    indicators.is_synthetic::boolean as is_synthetic
from indicators
inner join peer_values using (lad_code, financial_year, indicator)
left join {{ ref('dim_place') }} as dim_place
    on dim_place.place_code = indicators.lad_code and dim_place.place_level = 'lad'
