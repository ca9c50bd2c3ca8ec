-- fct_spend holds no row about one person's event. A line of a person-level feed (an A&E attendance,
-- an admission) was published as it was - the patient's LSOA, the day, the diagnosis group, the
-- cost, its file and row - until a probe of the demo read them as the analyst. Now such a feed is
-- in fct_spend only as the cells of int_activity_cost_cells_suppressed and one row per file of what
-- is withheld. Every build checks the published fact itself: a failure stops the publish.
with

person_level as (

    select * from {{ ref('fct_spend') }}
    where feed = any({{ person_level_feeds() }})

),

cells as (

    select * from {{ ref('int_activity_cost_cells_suppressed') }}

)

select 'a row of a person-level feed with row lineage or a date' as problem, feed, file_id
from person_level
where row_number is not null or column_number is not null or spend_date is not null

union all

select 'a person-level row placed finer than a district', feed, file_id
from person_level
where place_level is distinct from 'lad' and place_code is not null

union all

select 'a person-level row that is no published cell of 8 or more events', p.feed, p.file_id
from person_level as p
left join cells as c
    on c.feed = p.feed and c.file_id = p.file_id and c.financial_year = p.financial_year
    and c.place_code = coalesce(p.place_code, 'unknown') and c.theme_code = p.theme_code
where p.theme_code is not null
    and (c.cell is null or c.is_suppressed or c.events <= {{ var('suppression_threshold', 7) }}
         or p.amount is distinct from c.published_cost)

union all

select 'a file with more than one row of withheld activity', feed, file_id
from person_level
where theme_code is null
group by feed, file_id
having count(*) > 1
