-- The concentration curve of offending: the share of offences committed by the most prolific 1%,
-- 2%, 5%, 10% and 20% of identified offenders (and all of them), per district of the offender's
-- home and financial year, with the cost of their crimes (Home Office unit costs, seed
-- unit_costs) and the cost per offender. A group of 7 offenders or fewer is withheld (and another
-- district with it, so the totals do not give it away); offender counts are rounded to 5 and costs
-- per offender divided by the rounded count.
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

controlled as (

    -- all offenders (100%) of the districts add up to all places: protect across districts
    {{ secondary_suppression('curve', 'offenders', ['place_code'], ['financial_year', 'top_percent']) }}

)

select
    controlled.financial_year::text as financial_year,
    controlled.place_code::text as place_code,
    {{ cohort_place_name('controlled.place_code', 'places.place_name') }} as place_name,
    controlled.top_percent::integer as top_percent,
    controlled.published_count::bigint as offenders,
    (case when controlled.published_count is not null
        then round(100.0 * controlled.offences / controlled.offences_in_place, 1) end)::numeric(5, 1)
        as share_of_offences_percent,
    (case when controlled.published_count is not null
        then round(controlled.offences::numeric / controlled.offenders, 1) end)::numeric(8, 1) as offences_per_offender,
    {{ disclose_with('round(controlled.cost_of_crime)', 'controlled.published_count is null') }}::numeric(18, 0)
        as cost_of_crime,
    round(controlled.cost_of_crime / nullif(controlled.published_count, 0))::numeric(18, 0) as cost_per_offender
from controlled
left join {{ ref('dim_place') }} as places
    on places.place_code = controlled.place_code and places.place_level = 'lad'
