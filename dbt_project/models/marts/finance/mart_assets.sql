-- Public land and buildings per holding body and agency, and co-location candidates: assets of
-- different agencies within var('co_location_metres') (default 250 m) of each other by their
-- British National Grid coordinates - sites where services could share a building.
with

assets as (

    select a.*, coalesce(b.agency_type, 'other') as agency_type, b.place_code
    from {{ ref('stg_council__land_assets') }} as a
    left join {{ ref('bodies') }} as b on b.body_name = a.holding_authority

),

latest as (

    -- an asset register is sent whole: the newest file replaces the earlier ones
    select * from assets where file_id = (select max(file_id) from assets)

),

candidates as (

    -- the cheap box test first: the square root is only taken for pairs already close
    select a.uprn as uprn, b.uprn as near_uprn, b.holding_authority as near_holder,
           sqrt(power(a.easting - b.easting, 2) + power(a.northing - b.northing, 2)) as metres
    from latest as a
    inner join latest as b
        on a.agency_type <> b.agency_type
        and abs(a.easting - b.easting) <= {{ var('co_location_metres', 250) }}
        and abs(a.northing - b.northing) <= {{ var('co_location_metres', 250) }}

),

pairs as (

    select * from candidates where metres <= {{ var('co_location_metres', 250) }}

),

nearby as (

    select uprn, count(*) as assets from pairs group by uprn

),

nearest as (

    select distinct on (uprn) * from pairs order by uprn, metres

)

select
    latest.uprn::text as uprn,
    latest.property_name::text as property_name,
    latest.asset_type::text as asset_type,
    latest.tenure::text as tenure,
    latest.holding_authority::text as holding_body,
    latest.agency_type::text as agency_type,
    latest.place_code::text as body_place_code,
    latest.easting::bigint as easting,
    latest.northing::bigint as northing,
    coalesce(nearby.assets, 0)::integer as other_agency_assets_nearby,
    nearest.near_uprn::text as nearest_other_agency_uprn,
    nearest.near_holder::text as nearest_other_agency_holder,
    round(nearest.metres::numeric, 1)::numeric(10, 1) as nearest_other_agency_metres,
    (nearest.near_uprn is not null) as is_co_location_candidate
from latest
left join nearby on nearby.uprn = latest.uprn
left join nearest on nearest.uprn = latest.uprn
