-- The outline of every district (December 2021 codes) as GeoJSON, for maps, with the districts of
-- the December 2019 codes the marts use that it covers: itself, or - for a district made since
-- 2019 (Buckinghamshire, North and West Northamptonshire) - the districts it was made of, so a
-- figure of any 2019 district finds its shape.
with

boundaries as (

    select * from {{ ref('stg_reference__lad_boundaries') }}

),

successions as (

    select * from {{ ref('lad_code_successions') }}

),

covers as (

    select boundaries.lad_code,
           coalesce(array_agg(successions.old_lad_code order by successions.old_lad_code)
                        filter (where successions.old_lad_code is not null),
                    array[boundaries.lad_code]) as lad_codes_2019
    from boundaries
    left join successions on successions.new_lad_code = boundaries.lad_code
    group by boundaries.lad_code

)

select
    boundaries.lad_code::text as place_code,
    boundaries.lad_name::text as place_name,
    'December 2021'::text as boundary_vintage,
    covers.lad_codes_2019::text[] as lad_codes_2019,
    boundaries.longitude::double precision as longitude,
    boundaries.latitude::double precision as latitude,
    boundaries.geometry::jsonb as geometry
from boundaries
inner join covers using (lad_code)
