-- One row per file received and published (or superseded: its rows may still be read through
-- history): who sent it, who published the data, and whether the platform generated it (the demo's
-- synthetic extracts). Facts and marts carry these by file_id.
with

ledger as (

    select * from {{ source('ops', 'file_ledger') }}
    where status in ('published', 'superseded')

),

renamed as (

    select
        -- ids
        file_id,
        agency || '/' || feed as feed,

        -- who
        sent_by,
        coalesce(publisher, sent_by) as publisher,

        -- what
        name as file_name,
        synthetic as is_synthetic,
        received_at

    from ledger

)

select * from renamed
