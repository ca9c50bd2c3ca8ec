-- One row per person and financial year: where they live (district of their latest event), which
-- agencies know them, how many offences, whether a child in care, and what they cost each agency.
select
    person_id,
    financial_year,
    coalesce((array_agg(home_lad_code order by event_date desc) filter (where home_lad_code is not null))[1],
             'unknown') as lad_code,
    min(year_of_birth) as year_of_birth,
    count(distinct agency_type) as agencies,
    string_agg(distinct agency_type, '+' order by agency_type) as agency_combination,
    count(*) filter (where service = 'Offence') as offences,
    bool_or(service = 'Child in care') as is_child_in_care,
    sum(cost) filter (where agency_type = 'police') as police_cost,
    sum(cost) filter (where agency_type = 'council') as council_cost,
    sum(cost) filter (where agency_type = 'housing') as housing_cost,
    sum(cost) filter (where agency_type = 'nhs') as nhs_cost,
    sum(cost) as total_cost
from {{ ref('int_person_events') }}
group by person_id, financial_year
