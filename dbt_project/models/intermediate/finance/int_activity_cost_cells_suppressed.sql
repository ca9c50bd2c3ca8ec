{{ config(materialized='table') }}

-- The disclosure decision for the cost of person-level activity (A&E attendances, admissions: a
-- line each), made once: every spend line of a person-level feed is one person's event, so it is
-- published only as part of a cell
--
--   feed x file x financial year x district ('unknown': a home no lookup places) x theme
--
-- with no row lineage, date, LSOA or diagnosis group, and only where the cell rests on more than
-- var('suppression_threshold') events. The file stays a dimension because the audit reconciles
-- fct_spend with each file's control total to the penny: the file's total is published exactly (the
-- sum of its rows in fct_spend), so the file is the sum every cell of it adds up to. Secondary
-- suppression runs along that sum: a file has no withheld cell, or two or more that together rest
-- on more than the threshold - never one that the total less the published cells would give away.
--
-- Money: a published cell is rounded to var('money_rounding_base') (as the cohort marts' costs), so
-- the file's total less its published cells is not exact either. What is withheld, and the
-- rounding of what is published, go into one row per file without place or theme (built in
-- int_spend_lines_disclosed), so every file still adds up to the penny. Nothing else publishes this
-- money: mart_total_place and the marts after it add up the published cells only, so no total
-- there, less fct_spend's cells, recovers a withheld one. Materialised once per build.
with

lines as (

    -- every costed line of a person-level feed (one event), in the district of the LSOA it is placed in
    select
        spend.feed,
        spend.file_id,
        spend.agency_type,
        spend.body_name,
        spend.basis,
        spend.financial_year,
        coalesce(lsoas.lad_code, case when spend.place_level = 'lad' then spend.place_code end, 'unknown')
            as place_code,
        spend.theme_code,
        spend.amount
    from {{ ref('int_spend_lines') }} as spend
    left join {{ ref('int_lsoa_geographies') }} as lsoas
        on spend.place_level = 'lsoa' and lsoas.lsoa_code = spend.place_code
    where spend.feed = any({{ person_level_feeds() }})

),

cells as (

    -- the cells of each file, and the file itself ('all': its exact total is published)
    select
        feed,
        file_id,
        case when grouping(financial_year) = 1 then 'all'
            else financial_year || ' ' || place_code || ' ' || theme_code end as cell,
        financial_year,
        place_code,
        theme_code,
        count(*) as events,
        sum(amount) as cost
    from lines
    group by grouping sets ((feed, file_id, financial_year, place_code, theme_code), (feed, file_id))

),

controlled as (

    {{ secondary_suppression('cells', 'events', ['cell'], ['feed', 'file_id']) }}

),

files as (

    -- the body and basis of a file's cells: the trust that sent it, when all its lines name one
    select
        feed,
        file_id,
        case when count(distinct body_name) = 1 then min(body_name) else 'several bodies' end as body_name,
        min(agency_type) as agency_type,
        min(basis) as basis
    from lines
    group by feed, file_id

)

select
    controlled.feed::text as feed,
    controlled.file_id::bigint as file_id,
    controlled.cell::text as cell,
    controlled.financial_year::text as financial_year,
    controlled.place_code::text as place_code,
    controlled.theme_code::text as theme_code,
    files.agency_type::text as agency_type,
    files.body_name::text as body_name,
    files.basis::text as basis,
    controlled.events::bigint as events,
    controlled.cost::numeric(18, 2) as cost,
    controlled.is_suppressed::boolean as is_suppressed,
    controlled.published_count::bigint as published_events,
    {{ disclose_with('controlled.cost', 'controlled.is_suppressed') }}::numeric(18, 0) as published_cost
from controlled
inner join files on files.feed = controlled.feed and files.file_id = controlled.file_id
