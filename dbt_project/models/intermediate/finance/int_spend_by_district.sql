-- Spend placed in local authority districts. Spend of a district stays where it is; spend of a
-- wider area is shared among its districts by population: a county (upper-tier) among its
-- districts, the Greater London Authority among the boroughs, a CCG among the districts its LSOAs
-- lie in. Spend that cannot be placed (police force areas and other bodies without a district
-- lookup yet, and the withheld part of person-level activity) keeps lad_code NULL and is counted,
-- with the reason, in dq_unplaced_spend. It reads spend as published (int_spend_lines_disclosed):
-- person-level activity only in its disclosure-controlled cells, so no mart built on this places
-- money that fct_spend withholds.
with

spend as (

    select * from {{ ref('int_spend_lines_disclosed') }}

),

lsoas as (

    select * from {{ ref('int_lsoa_geographies') }}

),

districts as (

    select lad_code, utla_code, region_code, sum(population)::numeric as population
    from lsoas
    group by lad_code, utla_code, region_code

),

ccg_districts as (

    select ccg_code, lad_code, sum(population)::numeric as population
    from lsoas
    where ccg_code is not null
    group by ccg_code, lad_code

),

shares as (

    select lad_code as place_code, 'lad' as place_level, lad_code, 1.0 as share from districts
    union all
    select lsoa_code, 'lsoa', lad_code, 1.0 from lsoas
    union all
    select utla_code, 'utla', lad_code, population / sum(population) over (partition by utla_code) from districts
    union all
    select region_code, 'region', lad_code, population / sum(population) over (partition by region_code)
    from districts where region_code is not null
    union all
    select ccg_code, 'ccg', lad_code, population / sum(population) over (partition by ccg_code) from ccg_districts

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
            case when spend.place_code is null then 'no place' else 'no district lookup (' || spend.place_level || ')' end
        ) end as unplaced_reason

    from spend
    left join shares on shares.place_code = spend.place_code and shares.place_level = spend.place_level

)

select * from placed
