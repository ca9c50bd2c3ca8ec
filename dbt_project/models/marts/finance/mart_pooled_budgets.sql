-- Pooled budgets per district and financial year: each agency's contribution to each pool and its
-- share of the pool (the latest file's figures for a pool and year replace earlier ones).
with

contributions as (

    select *,
           dense_rank() over (partition by la_code, pool_name, financial_year order by file_id desc) as recency
    from {{ ref('stg_council__pooled_budget_contributions') }}

),

latest as (

    select * from contributions where recency = 1

),

by_agency as (

    select la_code, pool_name, pool_type, financial_year, contributor_agency_type, sum(contribution) as contribution
    from latest
    group by 1, 2, 3, 4, 5

)

select
    by_agency.la_code::text as lad_code,
    dim_place.place_name::text as lad_name,
    by_agency.pool_name::text as pool_name,
    by_agency.pool_type::text as pool_type,
    by_agency.financial_year::text as financial_year,
    by_agency.contributor_agency_type::text as agency_type,
    by_agency.contribution::numeric(18, 2) as contribution,
    (sum(by_agency.contribution) over (partition by by_agency.la_code, by_agency.pool_name, by_agency.financial_year)
    )::numeric(18, 2) as pool_total,
    round(by_agency.contribution / nullif(sum(by_agency.contribution) over (
        partition by by_agency.la_code, by_agency.pool_name, by_agency.financial_year), 0), 4)::numeric(6, 4)
        as agency_share
from by_agency
left join {{ ref('dim_place') }} as dim_place
    on dim_place.place_code = by_agency.la_code and dim_place.place_level = 'lad'
