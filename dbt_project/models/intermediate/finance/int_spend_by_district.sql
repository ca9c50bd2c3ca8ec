-- Spend placed in local authority districts. Spend of a district stays where it is; spend of a
-- wider area is shared among its districts by their population of the same financial year: a county
-- (upper-tier) among its districts, the Greater London Authority among the boroughs, a police force
-- area among the districts it polices (City of London Police the City only, the Metropolitan Police
-- the 32 boroughs), a fire and rescue authority or a combined authority among its members, a
-- district code made since 2019 (Buckinghamshire, North Yorkshire ...) among the 2019 districts it
-- joined, a CCG among the districts its LSOAs lie in (int_district_areas). Spend that cannot be
-- placed (bodies of no district - national parks - and the withheld part of person-level activity)
-- keeps lad_code NULL and is counted, with the reason, in dq_unplaced_spend. It reads spend as
-- published (int_spend_lines_disclosed): person-level activity only in its disclosure-controlled
-- cells, so no mart built on this places money that fct_spend withholds.
with

spend as (

    select * from {{ ref('int_spend_lines_disclosed') }}

),

lsoas as (

    select * from {{ ref('int_lsoa_geographies') }}

),

districts as (

    select distinct lad_code, utla_code, region_code
    from lsoas

),

-- residents of each district in each financial year: a wider area's spend of a year is shared by
-- the population of that year (int_financial_year_populations)
populations as (

    select lad_code, financial_year, population::numeric as population
    from {{ ref('int_financial_year_populations') }}
    where financial_year in (select distinct financial_year from spend)

),

ccg_districts as (

    select ccg_code, lad_code, sum(population)::numeric as population
    from lsoas
    where ccg_code is not null
    group by ccg_code, lad_code

),

rules as (

    select * from {{ ref('apportionment_rules') }}

),

areas as (

    -- every wider area's districts (police force area, fire authority, combined or joint authority,
    -- county, region, a district code made since 2019), under the level int_spend_lines gives its
    -- spend, as the seed apportionment_rules says
    select distinct areas.area_code as place_code, rules.place_level, areas.lad_code
    from {{ ref('int_district_areas') }} as areas
    inner join rules on rules.area_level = areas.area_level

),

members as (

    -- union, not union all: a county in both the 2019 and the 2020 lookups is one set of districts
    select lad_code as place_code, 'lad' as place_level, lad_code from districts
    union
    select utla_code, 'utla', lad_code from districts
    union
    select region_code, 'region', lad_code from districts where region_code is not null
    union
    select place_code, place_level, lad_code from areas

),

shares as (

    select members.place_code, members.place_level, populations.financial_year, members.lad_code,
           populations.population / sum(populations.population) over (
               partition by members.place_code, members.place_level, populations.financial_year) as share
    from members
    inner join populations on populations.lad_code = members.lad_code
    union all
    select lsoas.lsoa_code, 'lsoa', years.financial_year, lsoas.lad_code, 1.0
    from lsoas
    cross join (select distinct financial_year from populations) as years
    union all
    -- a CCG's spend by where its LSOAs' residents live (mid-2019: the only estimate by LSOA)
    select ccg_districts.ccg_code, 'ccg', years.financial_year, ccg_districts.lad_code,
           ccg_districts.population / sum(ccg_districts.population) over (
               partition by ccg_districts.ccg_code, years.financial_year)
    from ccg_districts
    cross join (select distinct financial_year from populations) as years

),

placed as (

    select
        spend.feed,
        spend.file_id,
        spend.row_number,
        spend.column_number,
        spend.agency_type,
        spend.body_name,
        spend.place_code as body_place_code,
        spend.place_level as body_place_level,
        spend.financial_year,
        spend.basis,
        spend.theme_code,
        shares.lad_code,
        case when shares.share = 1.0 then 'direct' when shares.lad_code is not null then 'population_share' end
            as allocation,
        spend.amount * coalesce(shares.share, 1.0) as amount,
        case when shares.lad_code is null then coalesce(
            spend.unplaced_reason,
            case
                when spend.place_code is null then 'no place'
                -- national parks, a regional park: bodies no apportionment rule shares among districts
                when spend.place_level = 'other' then 'a body of no district, and no apportionment rule for it ('
                    || spend.place_code || ')'
                else 'no district lookup (' || spend.place_level || ')'
            end
        ) end as unplaced_reason

    from spend
    left join shares
        on shares.place_code = spend.place_code
        and shares.place_level = spend.place_level
        and shares.financial_year = spend.financial_year

)

select * from placed
