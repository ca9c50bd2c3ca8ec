-- What does all public spending in Camden (E09000007) amount to per head, by agency and theme,
-- against its ten statistical neighbours - and what does each figure cover? One row per agency and
-- theme of Camden's latest financial year with spend: Camden's £ per head, the neighbours' median
-- and range, how many neighbours have spend of that agency and theme at all, and whether any of it
-- rests on generated (synthetic) data. A neighbour without that spend is left out of the median,
-- not counted as zero (mart_total_place.agencies_with_spend says what each place's figure covers).
with

camden as (

    select * from marts.mart_total_place
    where place_code = 'E09000007' and place_level = 'lad'
      and financial_year = (select max(financial_year) from marts.mart_total_place
                            where place_code = 'E09000007' and place_level = 'lad')

),

neighbours as (

    select t.*
    from marts.mart_total_place as t
    inner join marts.mart_place_neighbours as n on n.neighbour_code = t.place_code and n.lad_code = 'E09000007'
    where t.place_level = 'lad' and t.financial_year = (select max(financial_year) from camden)

)

select
    c.financial_year,
    c.agency_type,
    c.theme_name,
    c.amount_per_head as camden_per_head,
    percentile_cont(0.5) within group (order by n.amount_per_head) as neighbours_median_per_head,
    min(n.amount_per_head) as neighbours_min_per_head,
    max(n.amount_per_head) as neighbours_max_per_head,
    count(n.place_code) as neighbours_with_this_spend,
    c.is_synthetic or coalesce(bool_or(n.is_synthetic), false) as rests_on_synthetic_data
from camden as c
left join neighbours as n on n.agency_type = c.agency_type and n.theme_code = c.theme_code
group by c.financial_year, c.agency_type, c.theme_name, c.amount_per_head, c.is_synthetic
order by c.agency_type, c.amount_per_head desc;
