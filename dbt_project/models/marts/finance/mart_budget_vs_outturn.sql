-- What each authority budgeted for a service in a financial year (the MHCLG RA budget return, its
-- service totals) against what it spent (the RO outturn: the service's net current expenditure),
-- in pounds. Which RA line is which service is the seed budget_service_lines. An authority with
-- only one of the two returns for the year has the other NULL: nothing is compared with nothing.
-- Both are figures of the authority itself (not shared among districts: mart_total_place does that).
with

lines as (

    select * from {{ ref('stg_council__revenue_lines') }}

),

budget_lines as (

    select * from {{ ref('budget_service_lines') }}

),

budgets as (

    select lines.authority_code, lines.financial_year, budget_lines.service,
           min(lines.authority_name) as authority_name, sum(lines.amount) as budget,
           bool_or(lines.is_amount_suppressed) as is_budget_withheld,
           array_to_string(array_agg(distinct lines.file_id order by lines.file_id), ', ') as budget_files
    from lines
    inner join budget_lines on budget_lines.budget_line = lines.service_line
    where lines.figure_kind = 'budget'
    group by 1, 2, 3

),

outturns as (

    select authority_code, financial_year, service,
           min(authority_name) as authority_name, sum(amount) as outturn,
           bool_or(is_amount_suppressed) as is_outturn_withheld,
           array_to_string(array_agg(distinct file_id order by file_id), ', ') as outturn_files
    from lines
    where figure_kind = 'outturn' and measure ilike 'net current expenditure%'
      and service in (select service from budget_lines)
    group by 1, 2, 3

)

select
    coalesce(budgets.authority_code, outturns.authority_code)::text as authority_code,
    coalesce(outturns.authority_name, budgets.authority_name)::text as authority_name,
    coalesce(budgets.financial_year, outturns.financial_year)::text as financial_year,
    coalesce(budgets.service, outturns.service)::text as service,
    budgets.budget::numeric(18, 2) as budget,
    outturns.outturn::numeric(18, 2) as outturn,
    (outturns.outturn - budgets.budget)::numeric(18, 2) as outturn_less_budget,
    round(100.0 * (outturns.outturn - budgets.budget) / nullif(abs(budgets.budget), 0), 1)::numeric(10, 1)
        as outturn_less_budget_percent,
    coalesce(budgets.is_budget_withheld, false) or coalesce(outturns.is_outturn_withheld, false) as is_withheld,
    budgets.budget_files::text as budget_files,
    outturns.outturn_files::text as outturn_files
from budgets
full join outturns
    on outturns.authority_code = budgets.authority_code
    and outturns.financial_year = budgets.financial_year
    and outturns.service = budgets.service
