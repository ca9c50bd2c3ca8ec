-- Every body that spends or sends data, with its agency type and sector: the bodies seed (partner
-- bodies and spenders named in transaction files) plus every authority of the revenue returns.
with

seeded as (

    select body_name, agency_type, sector, place_code from {{ ref('bodies') }}

),

spenders as (

    -- the place of a person-level line is the person's home, not an area the body serves
    select distinct body_name, agency_type,
        case when feed = any({{ person_level_feeds() }}) then null else place_code end as place_code
    from {{ ref('int_spend_lines_disclosed') }}
    where body_name is not null

),

bodies as (

    select body_name, agency_type, sector, place_code from seeded
    union all
    select s.body_name, s.agency_type,
           case s.agency_type when 'council' then 'local government' when 'nhs' then 'health'
                when 'police' then 'criminal justice' when 'fire' then 'fire and rescue' else 'other' end,
           s.place_code
    from spenders as s
    where not exists (select 1 from seeded where seeded.body_name = s.body_name)

)

select distinct on (body_name, agency_type)
    body_name::text as body_name,
    agency_type::text as agency_type,
    sector::text as sector,
    place_code::text as place_code
from bodies
order by body_name, agency_type, place_code
