-- The concentration curve of offending: the share of offences committed by the most prolific 1%,
-- 2%, 5%, 10% and 20% of identified offenders (and all of them), per district of the offender's
-- home and financial year, with the cost of their crimes (Home Office unit costs, seed
-- unit_costs) and the cost per offender.
--
-- All offenders of a district (top_percent 100) are the people known to the police, and the cost
-- of their crime their police cost, which mart_multi_agency_cohort publishes too: their counts and
-- costs come from int_cohort_cells_suppressed, the one disclosure decision the cohort marts share.
-- A narrower group (the top N%) is withheld when it has 7 offenders or fewer, or when all the
-- district's offenders are withheld (the curve is theirs), and another district's with it, so no
-- line of the table has a single gap. Offender counts are rounded to 5, costs to £1,000 and
-- withheld with their count; figures per offender use the published count (and cost).
with

offenders as (

    select financial_year, lad_code as place_code, person_id, offences, coalesce(police_cost, 0) as cost
    from {{ ref('int_people_by_year') }}
    where offences > 0
    union all
    select financial_year, 'all', person_id, offences, coalesce(police_cost, 0)
    from {{ ref('int_people_by_year') }}
    where offences > 0

),

ranked as (

    select
        *,
        row_number() over (partition by financial_year, place_code order by offences desc, person_id) as rank,
        count(*) over (partition by financial_year, place_code) as offenders_in_place,
        sum(offences) over (partition by financial_year, place_code) as offences_in_place
    from offenders

),

tops as (

    select * from (values (1), (2), (5), (10), (20), (100)) as t (top_percent)

),

curve as (

    select
        ranked.financial_year,
        ranked.place_code,
        tops.top_percent,
        count(*) as offenders,
        sum(ranked.offences) as offences,
        max(ranked.offences_in_place) as offences_in_place,
        min(ranked.offences) as fewest_offences_in_group,
        sum(ranked.cost) as cost_of_crime
    from ranked
    cross join tops
    where ranked.rank <= ceil(ranked.offenders_in_place * tops.top_percent / 100.0)
    group by ranked.financial_year, ranked.place_code, tops.top_percent

),

all_offenders as (

    -- the top 100%: the people known to the police, as every cohort mart publishes them - in every
    -- district of the cohort (one missing would say it has no offenders), in the years the police's
    -- extracts have offences
    select financial_year, place_code, is_suppressed, published_people, published_cost
    from {{ ref('int_cohort_cells_suppressed') }}
    where agency = 'police' and agencies_known_to = 'all'
        and financial_year in (select financial_year from curve)

),

groups as (

    select
        all_offenders.financial_year,
        all_offenders.place_code,
        tops.top_percent,
        coalesce(curve.offenders, 0) as offenders,
        coalesce(curve.offences, 0) as offences,
        curve.offences_in_place,
        coalesce(curve.cost_of_crime, 0) as cost_of_crime,
        all_offenders.is_suppressed as is_place_withheld,
        all_offenders.published_people as all_published_people,
        all_offenders.published_cost as all_published_cost
    from all_offenders
    cross join tops
    left join curve
        on curve.financial_year = all_offenders.financial_year and curve.place_code = all_offenders.place_code
        and curve.top_percent = tops.top_percent

),

narrower as (

    select * from groups where top_percent < 100

),

controlled_narrower as (

    -- the top N% of all places are not the top N% of each district added up: no sum to protect,
    -- but a single gap along the districts is still closed, as before
    {{ secondary_suppression('narrower', 'offenders', ['place_code'], ['financial_year', 'top_percent'],
                             withhold='is_place_withheld', additive=false) }}

),

controlled as (

    select
        financial_year, place_code, top_percent, offences, offences_in_place,
        published_count, {{ disclose_with('cost_of_crime', 'is_suppressed') }} as published_cost
    from controlled_narrower
    union all
    select
        financial_year, place_code, top_percent, offences, offences_in_place,
        all_published_people, all_published_cost
    from groups
    where top_percent = 100

)

select
    controlled.financial_year::text as financial_year,
    controlled.place_code::text as place_code,
    {{ cohort_place_name('controlled.place_code', 'places.place_name') }} as place_name,
    controlled.top_percent::integer as top_percent,
    controlled.published_count::bigint as offenders,
    (case when controlled.published_count is not null
        then round(100.0 * controlled.offences / nullif(controlled.offences_in_place, 0), 1) end)::numeric(5, 1)
        as share_of_offences_percent,
    round(controlled.offences::numeric / nullif(controlled.published_count, 0), 1)::numeric(8, 1)
        as offences_per_offender,
    controlled.published_cost::numeric(18, 0) as cost_of_crime,
    round(controlled.published_cost / nullif(controlled.published_count, 0))::numeric(18, 0) as cost_per_offender
from controlled
left join {{ ref('dim_place') }} as places
    on places.place_code = controlled.place_code and places.place_level = 'lad'
