-- One row per place at every level: LSOA, MSOA, ward, district (LAD), upper-tier authority,
-- region, CCG, and named groups of districts (seed place_groups: e.g. "Leicester & Leicestershire").
-- Population is the mid-2019 estimate summed from LSOAs; imd_average_rank is the population-weighted
-- mean IMD 2019 rank of its English LSOAs (1 = most deprived), the basis of statistical neighbours.
with

lsoas as (

    select * from {{ ref('int_lsoa_geographies') }}

),

groups as (

    select * from {{ ref('place_groups') }}

),

levels as (

    select lsoa_code as place_code, lsoa_name as place_name, 'lsoa' as place_level, lad_code, lad_name,
           utla_code, region_code, ccg_code, population, imd_rank
    from lsoas
    union all
    select msoa_code, msoa_name, 'msoa', lad_code, lad_name, utla_code, region_code, null, population, imd_rank
    from lsoas where msoa_code is not null
    union all
    select ward_code, ward_name, 'ward', lad_code, lad_name, utla_code, region_code, null, population, imd_rank
    from lsoas
    union all
    select lad_code, lad_name, 'lad', lad_code, lad_name, utla_code, region_code, null, population, imd_rank
    from lsoas
    union all
    select utla_code, utla_name, 'utla', null, null, utla_code, region_code, null, population, imd_rank
    from lsoas where utla_code <> lad_code
    union all
    select region_code, region_name, 'region', null, null, null, region_code, null, population, imd_rank
    from lsoas where region_code is not null
    union all
    select ccg_code, ccg_name, 'ccg', null, null, null, null, ccg_code, population, imd_rank
    from lsoas where ccg_code is not null
    union all
    select groups.group_code, groups.group_name, 'group', null, null, null, null, null,
           lsoas.population, lsoas.imd_rank
    from groups
    inner join lsoas on lsoas.lad_code = groups.lad_code

),

places as (

    select
        place_code,
        min(place_name) as place_name,
        place_level,
        -- a ward can straddle nothing but its district; an MSOA or ward keeps its district
        case when count(distinct lad_code) = 1 then min(lad_code) end as lad_code,
        case when count(distinct lad_name) = 1 then min(lad_name) end as lad_name,
        case when count(distinct utla_code) = 1 then min(utla_code) end as utla_code,
        case when count(distinct region_code) = 1 then min(region_code) end as region_code,
        case when count(distinct ccg_code) = 1 then min(ccg_code) end as ccg_code,
        sum(population)::integer as population,
        round(sum(imd_rank::numeric * population) filter (where imd_rank is not null)
              / nullif(sum(population) filter (where imd_rank is not null), 0), 1) as imd_average_rank

    from levels
    group by place_code, place_level

)

select
    place_code::text as place_code,
    place_name::text as place_name,
    place_level::text as place_level,
    lad_code::text as lad_code,
    lad_name::text as lad_name,
    utla_code::text as utla_code,
    region_code::text as region_code,
    ccg_code::text as ccg_code,
    population::integer as population,
    imd_average_rank::numeric(10, 1) as imd_average_rank
from places
