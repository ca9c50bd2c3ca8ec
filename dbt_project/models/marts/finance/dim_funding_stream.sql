-- Grants and funding streams with their source and whether they are ring-fenced (seed funding_streams:
-- the financing lines of the MHCLG revenue returns; a grants feed would add one row per grant).
select
    stream_code::text as stream_code,
    stream_name::text as stream_name,
    return_line::text as return_line,
    source_department::text as source_department,
    is_ring_fenced::boolean as is_ring_fenced
from {{ ref('funding_streams') }}
