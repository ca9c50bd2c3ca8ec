-- Total Place: public spend per place, financial year, agency and theme, and per head - for every
-- district and every named group of districts (seed place_groups).
-- Per head is of the population of the same financial year (fct_population: its own mid-year
-- estimate, else the latest before it - population_year says which).
-- Never double-counted: int_spend_counted decides which placed lines count (service totals or
-- activity costs win over a body's transaction lines); the rest is in dq_spend_not_in_total_place.
with

counted as (

    select * from {{ ref('int_spend_counted') }}
    where is_counted

),

files as (

    select * from {{ ref('stg_ops__files') }}

),

districts as (

    select counted.lad_code as place_code, 'lad' as place_level, counted.financial_year, counted.agency_type,
           counted.theme_code, sum(counted.amount) as amount, count(*) as spend_lines,
           bool_or(coalesce(files.is_synthetic, false)) as is_synthetic,
           string_agg(distinct counted.basis, ', ' order by counted.basis) as bases
    from counted
    left join files on files.file_id = counted.file_id
    group by counted.lad_code, counted.financial_year, counted.agency_type, counted.theme_code

),

groups as (

    select g.group_code as place_code, 'group' as place_level, d.financial_year, d.agency_type, d.theme_code,
           sum(d.amount) as amount, sum(d.spend_lines) as spend_lines, bool_or(d.is_synthetic) as is_synthetic,
           string_agg(distinct d.bases, ', ' order by d.bases) as bases
    from districts as d
    inner join {{ ref('place_groups') }} as g on g.lad_code = d.place_code
    group by g.group_code, d.financial_year, d.agency_type, d.theme_code

),

places as (

    select * from districts
    union all
    select * from groups

),

-- residents of each place in each financial year: a group is the sum of its districts
populations as (

    select lad_code as place_code, 'lad' as place_level, financial_year, population, population_year
    from {{ ref('fct_population') }}
    union all
    select g.group_code, 'group', p.financial_year, sum(p.population), min(p.population_year)
    from {{ ref('fct_population') }} as p
    inner join {{ ref('place_groups') }} as g on g.lad_code = p.lad_code
    group by g.group_code, p.financial_year

),

-- districts whose own council's (or county's) outturn return for the year was not received
-- (dq_missing_returns): their figure lacks that council's spend
missing_returns as (

    select distinct districts.lad_code, missing.financial_year
    from {{ ref('dq_missing_returns') }} as missing
    inner join (
        select place_code as area_code, place_code as lad_code from {{ ref('dim_place') }} where place_level = 'lad'
        union all
        select area_code, lad_code from {{ ref('int_district_areas') }}
        where area_level in ('lad', 'county', 'upper_tier')
    ) as districts on districts.area_code = missing.authority_code
    where missing.figure_kind = 'outturn'

),

place_missing_returns as (

    select lad_code as place_code, 'lad' as place_level, financial_year from missing_returns
    union
    select g.group_code, 'group', m.financial_year
    from missing_returns as m
    inner join {{ ref('place_groups') }} as g on g.lad_code = m.lad_code

),

-- which agencies' spend a place's figure covers, that year (mart_coverage has the files)
coverage as (

    select place_code, place_level, financial_year,
           string_agg(distinct agency_type, ', ' order by agency_type) as agencies
    from places
    group by 1, 2, 3

)

select
    places.place_code::text as place_code,
    dim_place.place_name::text as place_name,
    places.place_level::text as place_level,
    places.financial_year::text as financial_year,
    places.agency_type::text as agency_type,
    places.theme_code::text as theme_code,
    themes.theme_name::text as theme_name,
    round(places.amount, 2)::numeric(18, 2) as amount,
    populations.population::integer as population,
    populations.population_year::integer as population_year,
    round(places.amount / nullif(populations.population, 0), 2)::numeric(18, 2) as amount_per_head,
    places.spend_lines::bigint as spend_lines,
    -- the trend: the same place, agency, theme and bases in the latest earlier year with spend (years
    -- with no return between them are skipped, so the year is named)
    (lag(places.financial_year) over trend)::text as previous_financial_year,
    (lag(round(places.amount / nullif(populations.population, 0), 2)) over trend)::numeric(18, 2)
        as previous_amount_per_head,
    coverage.agencies::text as agencies_with_spend,
    places.bases::text as bases,
    (place_missing_returns.place_code is not null)::boolean as is_council_return_missing,
    places.is_synthetic::boolean as is_synthetic
from places
inner join coverage using (place_code, place_level, financial_year)
inner join {{ ref('dim_place') }} as dim_place
    on dim_place.place_code = places.place_code and dim_place.place_level = places.place_level
inner join {{ ref('themes') }} as themes on themes.theme_code = places.theme_code
left join place_missing_returns
    on place_missing_returns.place_code = places.place_code
    and place_missing_returns.place_level = places.place_level
    and place_missing_returns.financial_year = places.financial_year
left join populations
    on populations.place_code = places.place_code
    and populations.place_level = places.place_level
    and populations.financial_year = places.financial_year
-- the trend compares like with like: the same bases of spend (service totals with service totals,
-- never a year's outturn with a month of payment lines)
window trend as (partition by places.place_code, places.place_level, places.agency_type, places.theme_code, places.bases
                 order by places.financial_year)
