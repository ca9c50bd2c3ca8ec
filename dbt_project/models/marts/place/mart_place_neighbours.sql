-- Statistical neighbours: for each English district, the ten most similar districts by population
-- (log scale) and deprivation (population-weighted mean IMD 2019 rank), both standardised - with
-- each one's crime rate in its latest financial year of data and the place's rank among them.
with

districts as (

    select place_code as lad_code, place_name as lad_name, population, imd_average_rank,
           ln(population) as log_population
    from {{ ref('dim_place') }}
    where place_level = 'lad' and imd_average_rank is not null and population > 0

),

scaled as (

    select
        *,
        (log_population - avg(log_population) over ()) / stddev_pop(log_population) over () as z_population,
        (imd_average_rank - avg(imd_average_rank) over ()) / stddev_pop(imd_average_rank) over () as z_imd
    from districts

),

crime_rates as (

    select distinct on (lad_code) lad_code, financial_year,
           1000.0 * sum(numerator) / max(denominator) as crimes_per_1000
    from {{ ref('fct_outcomes') }}
    where indicator = 'crimes'
    group by lad_code, financial_year
    order by lad_code, financial_year desc

),

distances as (

    select
        a.lad_code,
        a.lad_name,
        b.lad_code as neighbour_code,
        b.lad_name as neighbour_name,
        sqrt(power(a.z_population - b.z_population, 2) + power(a.z_imd - b.z_imd, 2)) as distance
    from scaled as a
    inner join scaled as b on b.lad_code <> a.lad_code

),

pairs as (

    select
        *,
        row_number() over (partition by lad_code order by distance, neighbour_code) as neighbour_rank
    from distances

),

nearest as (

    select * from pairs where neighbour_rank <= 10

),

with_rates as (

    select
        nearest.*,
        own.crimes_per_1000 as place_crimes_per_1000,
        other.crimes_per_1000 as neighbour_crimes_per_1000
    from nearest
    left join crime_rates as own on own.lad_code = nearest.lad_code
    left join crime_rates as other on other.lad_code = nearest.neighbour_code

)

select
    lad_code::text as lad_code,
    lad_name::text as lad_name,
    neighbour_rank::integer as neighbour_rank,
    neighbour_code::text as neighbour_code,
    neighbour_name::text as neighbour_name,
    round(distance::numeric, 4)::numeric(10, 4) as distance,
    round(place_crimes_per_1000::numeric, 3)::numeric(12, 3) as place_crimes_per_1000,
    round(neighbour_crimes_per_1000::numeric, 3)::numeric(12, 3) as neighbour_crimes_per_1000,
    -- 1 = the highest crime rate among the place and its ten neighbours (those with data)
    case when place_crimes_per_1000 is not null then
        1 + count(*) filter (where neighbour_crimes_per_1000 > place_crimes_per_1000) over (partition by lad_code)
    end::integer as place_crime_rank_among_neighbours
from with_rates
