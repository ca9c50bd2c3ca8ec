-- Every paying body a spend line can name, with its place: the seed bodies (written by hand), and
-- each council the seed does not know, placed by its name against the ONS district and county names
-- ("Leeds City Council" -> Leeds, "London Borough of Camden" -> Camden, "Kent County Council" ->
-- Kent), or else by the one area its name contains ("Education Leeds"): a council publishing its
-- first file is placed without an edit. A name matching no area, or more than one, stays unplaced
-- ("no place" in dq_unplaced_spend) for a seed row to settle.
{{ config(materialized='table') }}

with

seeded as (

    select body_name, agency_type, sector, place_code, place_level from {{ ref('bodies') }}

),

named as (

    select distinct body_name from {{ ref('stg_council__payments') }}
    where body_name is not null and body_name not in (select body_name from seeded)

),

areas as (

    select lad_code as area_code, lad_name as area_name, 'lad' as place_level from {{ ref('stg_reference__lads') }}
    where lad_code like 'E%'
    union
    select distinct area_code, area_name, 'utla' from {{ ref('stg_reference__lad_counties') }}
    where area_code like 'E10%'  -- shire counties (metropolitan counties and Inner/Outer London have no council)

),

-- a council's name as its area is written: "London Borough of", "Royal Borough of", "City of" and
-- "Council", "City Council", "County Council", "Borough Council", "District Council", "Metropolitan
-- Borough Council" taken off, "&" as "and", case and spaces ignored
keys as (

    select body_name, {{ council_name_key('body_name') }} as key from named

),

area_keys as (

    select area_code, place_level, {{ council_name_key('area_name') }} as key from areas

),

matched as (

    select keys.body_name, min(area_keys.area_code) as place_code, min(area_keys.place_level) as place_level
    from keys
    inner join area_keys on area_keys.key = keys.key
    group by keys.body_name
    having count(distinct area_keys.area_code) = 1

),

-- a body named after its area without being its council ("Education Leeds", "Aire Valley Homes
-- Leeds", "Leeds City Council as Accountable Body"): the one area whose name it contains, as words
named_in as (

    select keys.body_name, min(area_keys.area_code) as place_code, min(area_keys.place_level) as place_level
    from keys
    inner join area_keys on (' ' || keys.key || ' ') like ('% ' || area_keys.key || ' %')
    where keys.body_name not in (select body_name from matched)
    group by keys.body_name
    having count(distinct area_keys.area_code) = 1

)

select body_name::text, agency_type::text, sector::text, place_code::text, place_level::text,
       'seed'::text as placed_by
from seeded
union all
select matched.body_name, 'council', 'local government', matched.place_code, matched.place_level,
       'name matched to an ONS area'
from matched
union all
select named_in.body_name, 'council', 'local government', named_in.place_code, named_in.place_level,
       'the one ONS area its name contains'
from named_in
