-- Which files each outcome feed's counts for a district and financial year come from - the lineage
-- int_outcome_events gives up when it counts (mart_coverage reads it: what a place's outcomes rest
-- on, and whether any of it is a file the platform generated).
with

lsoas as (

    select lsoa_code, lad_code from {{ ref('stg_reference__ons_lsoa_lookups') }}

),

files as (

    select 'police/street_crime' as feed, c.file_id, l.lad_code, c.month_start as day
    from {{ ref('int_street_crimes_counted') }} as c
    inner join lsoas as l on l.lsoa_code = c.lsoa_code
    union all
    select 'nhs/ae_attendances', a.file_id, l.lad_code, a.arrival_date
    from {{ ref('stg_nhs__ae_attendances') }} as a
    inner join lsoas as l on l.lsoa_code = a.lsoa_code
    union all
    select 'nhs/hospital_admissions', a.file_id, l.lad_code, a.admission_date
    from {{ ref('stg_nhs__hospital_admissions') }} as a
    inner join lsoas as l on l.lsoa_code = a.lsoa_code
    union all
    select 'housing/homelessness', file_id, la_code, quarter_start from {{ ref('stg_housing__homelessness_duties') }}
    union all
    select 'housing/social_lettings', file_id, la_code, letting_date from {{ ref('stg_housing__lettings') }}

)

select distinct feed, file_id, lad_code, {{ financial_year('day') }} as financial_year
from files
where lad_code is not null and day is not null
