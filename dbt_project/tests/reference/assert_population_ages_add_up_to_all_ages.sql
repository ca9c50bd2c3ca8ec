-- Every area's single years of age add up to the publisher's own "All ages" figure, each year:
-- a lost age column, or a row read twice, shows here (a check against the file's own total,
-- not against our model). Returns the areas that do not add up.
select area_code, population_year, min(area_all_ages) as all_ages, sum(population) as sum_of_ages
from {{ ref('stg_reference__area_populations_by_age') }}
group by area_code, population_year
having sum(population) <> min(area_all_ages) or count(*) <> 91
