-- Resident population per district (mid-2019 ONS estimate summed from LSOAs): the denominator of
-- every per-head figure. Only the 2019 estimate is loaded, so it serves every year.
select
    lad_code::text as lad_code,
    min(lad_name)::text as lad_name,
    2019::integer as population_year,
    sum(population)::integer as population
from {{ ref('int_lsoa_geographies') }}
where population is not null
group by lad_code
