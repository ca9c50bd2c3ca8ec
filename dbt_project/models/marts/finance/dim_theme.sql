-- The Total Place themes (seed themes), with how many mapping rules lead to each (seed theme_map).
select
    t.theme_code::text as theme_code,
    t.theme_name::text as theme_name,
    t.description::text as description,
    (select count(*) from {{ ref('theme_map') }} as m where m.theme_code = t.theme_code)::integer as mapping_rules
from {{ ref('themes') }} as t
