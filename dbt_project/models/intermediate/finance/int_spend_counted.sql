-- Placed spend, each line marked whether Total Place counts it. Never double-counted: for the same
-- agency, district, year and body (all NHS bodies together), service totals (outturn) or activity
-- costs win over transaction lines, which then count only where no total exists. A line not counted
-- is not lost: dq_spend_not_in_total_place lists it with the reason, and a test adds fct_spend up
-- against mart_total_place, dq_unplaced_spend and that model.
with

placed as (

    select * from {{ ref('int_spend_by_district') }}
    where lad_code is not null

),

ranked as (

    select
        *,
        dense_rank() over (
            partition by lad_code, financial_year, agency_type,
                         case when agency_type = 'nhs' then 'nhs' else body_place_code end
            order by case basis when 'transaction' then 2 else 1 end
        ) as basis_rank

    from placed

)

select
    *,
    basis_rank = 1 as is_counted,
    case when basis_rank > 1
        then 'transaction lines of a body whose service totals or activity costs for the year are counted instead'
    end as not_counted_reason
from ranked
