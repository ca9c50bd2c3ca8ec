-- Every district of England in the region lookup (April 2021 codes, a separate ONS release) has an
-- outline to draw in dim_place_boundaries (December 2021): a lost feature, or a boundary file of
-- another vintage, shows here. Returns the districts without one.
select regions.lad_code, regions.lad_name
from {{ ref('stg_reference__lad_regions') }} as regions
left join {{ ref('dim_place_boundaries') }} as boundaries on boundaries.place_code = regions.lad_code
where boundaries.place_code is null
