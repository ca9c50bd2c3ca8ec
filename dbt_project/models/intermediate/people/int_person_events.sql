-- Every person-level event of every agency, as one row with a cost, and the person it belongs to.
--
-- Linking: each record carries what its agency holds - the NHS number's pseudonym (NHS, children's
-- social care), the match key (keyed hash of name + date of birth + postcode) and the agency's own
-- person pseudonym. A person is identified by, in order: a valid NHS number's pseudonym; the
-- NHS pseudonym of another record with the same match key; the match key; the agency's own key.
-- All of an agency's records of one person take the best identifier any of them has.
-- Costs: offences at the Home Office unit cost of their type (seed unit_costs), care episodes at
-- their weekly cost for the days in each financial year, cases and NHS activity as sent.
with

offences as (

    select
        'police' as agency_type,
        'Offence' as service,
        o.offender_pseudonym as agency_person_key,
        null::text as patient_pseudonym,
        o.match_key,
        o.year_of_birth,
        coalesce(o.home_lsoa_code, o.offence_lsoa_code) as home_lsoa_code,
        o.offence_date as event_date,
        coalesce(c.unit_cost, 0)::numeric(18, 2) as cost
    from {{ ref('stg_police__offences') }} as o
    left join {{ ref('unit_costs') }} as c
        on c.agency_type = 'police' and c.item = o.offence_type

),

care_episodes as (

    select
        *,
        coalesce(period_end, (
            select {{ financial_year_start('max(period_start)') }} + interval '1 year' - interval '1 day'
            from {{ ref('stg_council__children_in_care') }}
        )::date) as period_last_day
    from {{ ref('stg_council__children_in_care') }}

),

care as (

    -- one row per episode and financial year it spans, costed for the days in that year
    select
        'council' as agency_type,
        'Child in care' as service,
        e.child_pseudonym as agency_person_key,
        case when e.is_nhs_number_valid then e.patient_pseudonym end as patient_pseudonym,
        e.match_key,
        e.year_of_birth,
        e.home_lsoa_code,
        greatest(e.period_start, fy.start::date) as event_date,
        (e.weekly_cost * ((least(e.period_last_day, (fy.start + interval '1 year' - interval '1 day')::date)
                           - greatest(e.period_start, fy.start::date) + 1) / 7.0))::numeric(18, 2) as cost
    from care_episodes as e
    cross join lateral generate_series(
        {{ financial_year_start('e.period_start') }}, e.period_last_day, interval '1 year') as fy (start)

),

homelessness as (

    select
        'housing' as agency_type,
        'Homelessness' as service,
        applicant_pseudonym as agency_person_key,
        null::text as patient_pseudonym,
        match_key,
        year_of_birth,
        home_lsoa_code,
        approach_date as event_date,
        coalesce(cost, 0) as cost
    from {{ ref('stg_housing__homelessness_cases') }}

),

nhs_activity as (

    select 'A&E attendance' as service, patient_pseudonym, is_nhs_number_valid, match_key, year_of_birth,
        home_lsoa_code, lsoa_code, arrival_date as event_date, cost
    from {{ ref('stg_nhs__ae_attendances') }}
    union all
    select 'Hospital admission', patient_pseudonym, is_nhs_number_valid, match_key, year_of_birth,
        home_lsoa_code, lsoa_code, admission_date, cost
    from {{ ref('stg_nhs__hospital_admissions') }}

),

nhs as (

    select
        'nhs' as agency_type,
        service,
        patient_pseudonym as agency_person_key,
        case when is_nhs_number_valid then patient_pseudonym end as patient_pseudonym,
        match_key,
        year_of_birth,
        coalesce(home_lsoa_code, lsoa_code) as home_lsoa_code,
        event_date,
        coalesce(cost, 0) as cost
    from nhs_activity
    where patient_pseudonym is not null

),

records as (

    select * from offences
    union all select * from care
    union all select * from homelessness
    union all select * from nhs

),

nhs_by_match_key as (

    select match_key, min(patient_pseudonym) as patient_pseudonym
    from records
    where match_key is not null and patient_pseudonym is not null
    group by match_key

),

candidates as (

    select
        records.agency_type,
        records.agency_person_key,
        case
            when records.patient_pseudonym is not null then 'n:' || records.patient_pseudonym
            when linked.patient_pseudonym is not null then 'n:' || linked.patient_pseudonym
            when records.match_key is not null then 'm:' || records.match_key
            else records.agency_type || ':' || records.agency_person_key
        end as person_id,
        case
            when records.patient_pseudonym is not null or linked.patient_pseudonym is not null then 1
            when records.match_key is not null then 2
            else 3
        end as strength
    from records
    left join nhs_by_match_key as linked on linked.match_key = records.match_key

),

people as (

    select agency_type, agency_person_key, (array_agg(person_id order by strength, person_id))[1] as person_id
    from candidates
    group by agency_type, agency_person_key

)

select
    people.person_id,
    records.agency_type,
    records.service,
    records.event_date,
    {{ financial_year('records.event_date') }} as financial_year,
    records.year_of_birth,
    -- the age band at the event (from the year of birth: the date of birth never lands)
    case
        when records.year_of_birth is null then 'unknown'
        when extract(year from records.event_date) - records.year_of_birth < 18 then '0-17'
        when extract(year from records.event_date) - records.year_of_birth < 25 then '18-24'
        when extract(year from records.event_date) - records.year_of_birth < 65 then '25-64'
        else '65+'
    end as age_band,
    records.home_lsoa_code,
    places.lad_code as home_lad_code,
    records.cost
from records
join people
    on people.agency_type = records.agency_type and people.agency_person_key = records.agency_person_key
left join {{ ref('int_lsoa_geographies') }} as places on places.lsoa_code = records.home_lsoa_code
