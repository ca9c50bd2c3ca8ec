-- Placed spend Total Place does not count, and why: a body's transaction lines where its service
-- totals or activity costs for the year are counted instead (counting both would count the money
-- twice). With mart_total_place and dq_unplaced_spend it adds up to fct_spend
-- (assert_spend_adds_up_across_marts).
select
    feed::text as feed,
    agency_type::text as agency_type,
    body_name::text as body_name,
    financial_year::text as financial_year,
    not_counted_reason::text as reason,
    count(*)::bigint as spend_lines,
    sum(amount)::numeric(18, 2) as amount
from {{ ref('int_spend_counted') }}
where not is_counted
group by 1, 2, 3, 4, 5
