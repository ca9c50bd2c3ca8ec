-- Every money column of each published wide return and how its feed's contract counted it (the
-- ledger's spend_control, written at intake from the file's own cells). Rebuilt with the feeds whose
-- contracts have spend rules: a partial build selects what lies downstream of a changed feed.
-- depends_on: {{ source('raw_council', 'council__revenue_outturn') }}
with

ledger as (

    select * from {{ source('ops', 'file_ledger') }}
    where status = 'published' and report ? 'spend_control'

),

columns as (

    select
        ledger.file_id,
        ledger.agency || '/' || ledger.feed as feed,
        ledger.name as file_name,
        (c ->> 'column')::integer as column_number,
        c ->> 'header' as column_header,
        c ->> 'role' as role,
        nullif(c ->> 'reason', '') as reason,
        (c ->> 'total')::numeric(18, 2) as amount
    from ledger
    cross join lateral jsonb_array_elements(ledger.report -> 'spend_control' -> 'columns') as c

)

select * from columns
