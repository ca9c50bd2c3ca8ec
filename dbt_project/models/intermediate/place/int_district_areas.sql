-- Every area a district (of the December 2019 codes the LSOA lookups use) lies in: region, county,
-- upper tier, police force area, fire and rescue authority, combined authority - and, for each
-- district code created since (Buckinghamshire 2020, the Northamptonshires 2021, Cumberland,
-- Westmorland and Furness, North Yorkshire and Somerset 2023), the 2019 districts it is made of, as
-- area_level 'lad'. A lookup of a later vintage is read through the seed lad_code_successions, so a
-- district of 2021 or 2023 codes reaches the 2019 districts it covers. Members of joint waste
-- authorities and of combined authorities made since the lookups (authority_members), and areas
-- merged since (area_successions) are seeds: data, not code.
{{ config(materialized='table') }}  -- small, and joined to every LSOA: a view was planned as a loop per row

with

lookups as (

    select lad_code, area_code, area_name, area_level from {{ ref('stg_reference__lad_regions') }}
    union all
    select lad_code, area_code, area_name, area_level from {{ ref('stg_reference__lad_counties') }}
    union all
    select lad_code, area_code, area_name, area_level from {{ ref('stg_reference__lad_police_force_areas') }}
    union all
    select lad_code, area_code, area_name, area_level from {{ ref('stg_reference__lad_fire_authorities') }}
    union all
    select lad_code, area_code, area_name, area_level from {{ ref('stg_reference__lad_combined_authorities') }}
    union all
    select lad_code, area_code, area_name, area_level from {{ ref('stg_reference__ltla_utla_2023_lookups') }}
    where area_code <> lad_code  -- a unitary authority is its own upper tier

),

successions as (

    select * from {{ ref('lad_code_successions') }}

),

area_successions as (

    select * from {{ ref('area_successions') }}

),

members as (

    select * from {{ ref('authority_members') }}

),

districts_2019 as (

    select distinct lad_code, lad_name from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

-- a lookup's district code, as the 2019 districts it stands for
to_2019 as (

    select lad_code as code, lad_code as lad_code from districts_2019
    union all
    select new_lad_code, old_lad_code from successions

),

areas as (

    select distinct
        lookups.area_code,
        lookups.area_name,
        lookups.area_level,
        to_2019.lad_code
    from lookups
    inner join to_2019 on to_2019.code = lookups.lad_code

),

successors as (

    select new_lad_code as area_code, new_lad_name as area_name, 'lad' as area_level, old_lad_code as lad_code
    from successions

),

-- an area formed since the lookups from earlier ones (Hampshire and Isle of Wight fire, 2021)
merged_areas as (

    select distinct area_successions.new_area_code, area_successions.new_area_name, areas.area_level, areas.lad_code
    from area_successions
    inner join areas on areas.area_code = area_successions.old_area_code

),

-- the members of authorities no lookup has (joint waste authorities, combined authorities made since
-- 2019): a member district of any vintage as its 2019 districts, a member county as its districts
member_areas as (

    select distinct members.area_code, members.area_name, members.area_level, to_2019.lad_code
    from members
    inner join to_2019 on to_2019.code = members.member_code
    union
    select distinct members.area_code, members.area_name, members.area_level, areas.lad_code
    from members
    inner join areas on areas.area_code = members.member_code and areas.area_level = 'county'

)

select * from areas
union all
select * from successors
union all
select * from merged_areas
union all
select * from member_areas
