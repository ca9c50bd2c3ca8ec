-- Spend lines as they may be published (fct_spend, and placed in districts by int_spend_by_district):
-- every line of the feeds that are not person-level as it is, with its lineage; the lines of
-- person-level feeds (one patient's attendance or admission each) only as the cells of
-- int_activity_cost_cells_suppressed - per file, financial year, district and theme, no row, date,
-- LSOA or diagnosis group, money rounded to var('money_rounding_base') - and, per file, one row
-- without place or theme holding the rest: the cells withheld (too few events, or protecting such
-- a cell) and the rounding of the published ones. A file's rows still add up to the file's own
-- total to the penny (the publish audit), and that row is counted in dq_unplaced_spend.
with

lines as (

    select * from {{ ref('int_spend_lines') }}
    where not (feed = any({{ person_level_feeds() }}))

),

cells as (

    select * from {{ ref('int_activity_cost_cells_suppressed') }}

),

published_cells as (

    select
        feed,
        file_id,
        null::bigint as row_number,
        null::integer as column_number,
        agency_type,
        body_name,
        nullif(place_code, 'unknown') as place_code,
        case when place_code <> 'unknown' then 'lad' end as place_level,
        financial_year,
        null::date as spend_date,
        basis,
        theme_code,
        case when place_code = 'unknown'
            then 'activity of the file in the year and theme, home in no known district'
            else 'activity of the file in the district, year and theme' end as line_description,
        null::text as supplier_name,
        published_cost::numeric(18, 2) as amount,
        case when place_code = 'unknown' then 'home in no known district' end as unplaced_reason
    from cells
    where cell <> 'all' and not is_suppressed

),

rest_of_files as (

    -- the file's exact total less its published cells: the withheld cells and the rounding of the
    -- others. In a year only when the whole file is (else the year's part would be one cell more),
    -- and never for a file of 1-7 events: the audit makes its total public to the penny, but without
    -- place, theme, date - or year.
    select
        files.feed,
        files.file_id,
        null::bigint as row_number,
        null::integer as column_number,
        files.agency_type,
        files.body_name,
        null::text as place_code,
        null::text as place_level,
        case when count(distinct parts.financial_year) = 1 and files.events > {{ var('suppression_threshold', 7) }}
            then min(parts.financial_year) end as financial_year,
        null::date as spend_date,
        files.basis,
        null::text as theme_code,
        case when bool_or(parts.is_suppressed)
            then 'activity withheld (cells of fewer than {{ var("suppression_threshold", 7) + 1 }} events, and '
                || 'cells withheld to protect them) and the rounding of the published cells'
            else 'the rounding of the published cells of activity' end as line_description,
        null::text as supplier_name,
        (files.cost - coalesce(sum(parts.published_cost), 0))::numeric(18, 2) as amount,
        case when bool_or(parts.is_suppressed)
            then 'withheld: fewer than {{ var("suppression_threshold", 7) + 1 }} events'
            else 'rounding: activity published to the nearest £{{ var("money_rounding_base", 1000) }}' end
            as unplaced_reason
    from cells as files
    inner join cells as parts on parts.feed = files.feed and parts.file_id = files.file_id and parts.cell <> 'all'
    where files.cell = 'all'
    group by files.feed, files.file_id, files.agency_type, files.body_name, files.basis, files.events, files.cost
    having bool_or(parts.is_suppressed) or files.cost <> coalesce(sum(parts.published_cost), 0)

)

select
    feed, file_id, row_number, column_number, agency_type, body_name, place_code, place_level, financial_year,
    spend_date, basis, theme_code, line_description, supplier_name, amount, null::text as unplaced_reason
from lines
union all
select * from published_cells
union all
select * from rest_of_files
