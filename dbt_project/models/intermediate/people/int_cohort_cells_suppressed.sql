{{ config(materialized='table') }}

-- One disclosure decision for every cohort figure that any mart publishes, made once for all of
-- them. The cohort marts publish the same quantities at the same or nested keys - the council cost
-- of a district's children in care is in mart_children_in_care and, as council_cost, in
-- mart_multi_agency_cohort; the police cost of its offenders in mart_offending_concentration and
-- as police_cost - so a decision made per mart let one mart publish what another withheld, and a
-- total of one minus the parts of another give a withheld cell away. Here every figure is a cell
-- of one table per financial year:
--
--   place_code (district, 'unknown', 'all') x agencies_known_to ('1', '2 or more', 'all')
--     x agency ('police', 'council', 'housing', 'nhs'; 'all' = the person whatever agency)
--
-- with `people`, the people of the cell known to that agency, and `cost`, what they cost it. Money
-- is the money *of* those people, so it is withheld exactly when their count is. Counts add up over
-- districts and over agencies_known_to; money adds up over those and over agencies too (the four
-- agencies' costs are the total cost), so secondary suppression runs along all three dimensions:
-- no sum any mart can publish has exactly one withheld figure. Every row has all five agencies
-- (a district missing from a mart would say it has nobody there). Materialised once per build, so
-- every mart reads the same decision.
with

people as (

    select
        *,
        case when agencies >= 2 then '2 or more' else '1' end as agencies_known_to,
        string_to_array(agency_combination, '+') as known_to
    from {{ ref('int_people_by_year') }}

),

by_agency as (

    -- one row per person, year and agency that knows them (and one for the person: agency 'all')
    select
        people.financial_year,
        people.lad_code,
        people.agencies_known_to,
        agencies.agency,
        agencies.cost
    from people
    cross join lateral (values
        ('all', coalesce(people.total_cost, 0), true),
        ('police', coalesce(people.police_cost, 0), 'police' = any(people.known_to)),
        ('council', coalesce(people.council_cost, 0), 'council' = any(people.known_to)),
        ('housing', coalesce(people.housing_cost, 0), 'housing' = any(people.known_to)),
        ('nhs', coalesce(people.nhs_cost, 0), 'nhs' = any(people.known_to))
    ) as agencies (agency, cost, is_known)
    where agencies.is_known

),

cells as (

    select
        financial_year,
        case when grouping(lad_code) = 1 then 'all' else lad_code end as place_code,
        case when grouping(agencies_known_to) = 1 then 'all' else agencies_known_to end as agencies_known_to,
        agency,
        count(*) as people,
        sum(cost) as cost
    from by_agency
    group by grouping sets (
        (financial_year, agency, lad_code, agencies_known_to), (financial_year, agency, lad_code),
        (financial_year, agency, agencies_known_to), (financial_year, agency))

),

grid as (

    -- every agency in every row (year x district x agencies known to) that has people: an agency
    -- that knows none of them is a cell of 0
    select
        row_totals.financial_year,
        row_totals.place_code,
        row_totals.agencies_known_to,
        agencies.agency,
        row_totals.people as people_in_row,
        coalesce(cells.people, 0) as people,
        coalesce(cells.cost, 0) as cost
    from cells as row_totals
    cross join (values ('all'), ('police'), ('council'), ('housing'), ('nhs')) as agencies (agency)
    left join cells
        on cells.financial_year = row_totals.financial_year and cells.place_code = row_totals.place_code
        and cells.agencies_known_to = row_totals.agencies_known_to and cells.agency = agencies.agency
    where row_totals.agency = 'all'

),

zeros as (

    -- A 0 among a handful of people (a row whose count is 1-7) tells something about each of them:
    -- that none is known to the council, say - and with the other zeros, to which agencies they all
    -- are. It is withheld, unless a wider total published as 0 says it already (no one in all
    -- districts, or in the district, known to that agency: a total of a row of 8 or more, or an
    -- agency that knows nobody that year at all, having sent nothing about it) - withholding what a
    -- published total gives away protects nothing.
    select
        *,
        people = 0 and people_in_row <= {{ var('suppression_threshold', 7) }}
            and max(people) filter (where place_code = 'all' and agencies_known_to = 'all')
                over (partition by financial_year, agency) > 0
            and (place_code = 'all' or not (
                max(people) filter (where place_code = 'all')
                    over (partition by financial_year, agencies_known_to, agency) = 0
                and max(people_in_row) filter (where place_code = 'all')
                    over (partition by financial_year, agencies_known_to, agency) > {{ var('suppression_threshold', 7) }}))
            and (agencies_known_to = 'all' or not (
                max(people) filter (where agencies_known_to = 'all')
                    over (partition by financial_year, place_code, agency) = 0
                and max(people_in_row) filter (where agencies_known_to = 'all')
                    over (partition by financial_year, place_code, agency) > {{ var('suppression_threshold', 7) }}))
            as is_zero_of_few
    from grid

),

controlled as (

    {{ secondary_suppression('zeros', 'people', ['place_code', 'agencies_known_to', 'agency'], ['financial_year'],
                             rounds=6, withhold='is_zero_of_few') }}

)

select
    financial_year::text as financial_year,
    place_code::text as place_code,
    agencies_known_to::text as agencies_known_to,
    agency::text as agency,
    people::bigint as people,
    cost::numeric(18, 2) as cost,
    is_suppressed::boolean as is_suppressed,
    published_count::bigint as published_people,
    {{ disclose_with('cost', 'is_suppressed') }}::numeric(18, 0) as published_cost
from controlled
