-- Outcome counts per indicator, district and month from every agency's feed (numerators only),
-- with the feed each is counted from: counts of a person-level feed are published only through
-- int_outcome_cells_suppressed (disclosure control); open data (street crime, MHCLG statistics) as it is.
with

lsoas as (

    select lsoa_code, lad_code from {{ ref('int_lsoa_geographies') }}

),

crimes as (

    select c.*, l.lad_code from {{ ref('int_street_crimes_counted') }} as c
    inner join {{ ref('stg_reference__ons_lsoa_lookups') }} as l on l.lsoa_code = c.lsoa_code

),

attendances as (

    select a.*, l.lad_code from {{ ref('stg_nhs__ae_attendances') }} as a
    inner join lsoas as l on l.lsoa_code = a.lsoa_code

),

admissions as (

    select a.*, l.lad_code from {{ ref('stg_nhs__hospital_admissions') }} as a
    inner join lsoas as l on l.lsoa_code = a.lsoa_code

),

homelessness as (

    select * from {{ ref('stg_housing__homelessness_duties') }}

),

lettings as (

    select * from {{ ref('stg_housing__lettings') }}

),

events as (

    select 'crimes' as indicator, 'police/street_crime' as feed, lad_code, month_start, sum(crimes) as numerator
    from crimes where not is_anti_social_behaviour group by lad_code, month_start
    union all
    select 'drug_crimes', 'police/street_crime', lad_code, month_start, sum(crimes) from crimes where crime_type = 'Drugs'
    group by lad_code, month_start
    union all
    select 'violent_crimes', 'police/street_crime', lad_code, month_start, sum(crimes) from crimes
    where crime_type = 'Violence and sexual offences' group by lad_code, month_start
    union all
    select 'asb_incidents', 'police/street_crime', lad_code, month_start, sum(crimes) from crimes where is_anti_social_behaviour
    group by lad_code, month_start
    union all
    select 'ae_attendances', 'nhs/ae_attendances', lad_code, date_trunc('month', arrival_date)::date, count(*)
    from attendances group by 3, 4
    union all
    -- drugs and alcohol apart (Leicester's question): each its own diagnosis group
    select 'ae_alcohol_attendances', 'nhs/ae_attendances', lad_code, date_trunc('month', arrival_date)::date, count(*)
    from attendances where diagnosis_group = 'Alcohol related' group by 3, 4
    union all
    select 'ae_drug_attendances', 'nhs/ae_attendances', lad_code, date_trunc('month', arrival_date)::date, count(*)
    from attendances where diagnosis_group = 'Drug related' group by 3, 4
    union all
    select 'emergency_admissions', 'nhs/hospital_admissions', lad_code, date_trunc('month', admission_date)::date, count(*)
    from admissions where admission_method = 'Emergency' group by 3, 4
    union all
    select 'alcohol_admissions', 'nhs/hospital_admissions', lad_code, date_trunc('month', admission_date)::date, count(*)
    from admissions where diagnosis_group = 'Alcohol related' group by 3, 4
    union all
    select 'drug_admissions', 'nhs/hospital_admissions', lad_code, date_trunc('month', admission_date)::date, count(*)
    from admissions where diagnosis_group = 'Drug related' group by 3, 4
    union all
    -- quarterly returns: counted in the quarter's first month
    select 'homelessness_main_duty', 'housing/homelessness', la_code, quarter_start, sum(main_duty_owed)
    from homelessness where main_duty_owed is not null group by 3, 4
    union all
    select 'lettings_to_homeless', 'housing/social_lettings', la_code, date_trunc('month', letting_date)::date, count(*)
    from lettings where was_previously_homeless group by 3, 4

)

select
    *,
    -- months a row stands for: quarterly returns cover three
    case when indicator = 'homelessness_main_duty' then 3 else 1 end as months_covered
from events
