-- Resident population per district and financial year, as every per-head figure and rate of the
-- marts uses it (int_financial_year_populations: the year's own mid-year estimate, else the latest
-- before it - population_year says which; children aged 0-17 where the estimate is by age).
select * from {{ ref('int_financial_year_populations') }}
