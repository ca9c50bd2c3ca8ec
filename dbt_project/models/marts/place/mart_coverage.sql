-- Which agencies' data each district has, per financial year, and from which files: so no figure is
-- compared with another place's without saying what each covers. One row per district of England
-- and Wales x financial year with any data x agency; has_spend / has_outcomes false where there is
-- none. is_synthetic: some of it rests on files the platform generated (the demo's extracts).
with

files as (

    select * from {{ ref('stg_ops__files') }}

),

spend as (

    -- files by their ledger id, not their name: a file's name is the sender's and may say too much
    select s.lad_code, s.financial_year, s.agency_type,
           array_to_string(array_agg(distinct s.file_id order by s.file_id), ', ') as spend_files,
           bool_or(coalesce(f.is_synthetic, false)) as spend_is_synthetic
    from {{ ref('int_spend_counted') }} as s
    left join files as f on f.file_id = s.file_id
    group by 1, 2, 3

),

outcomes as (

    select o.lad_code, o.financial_year, split_part(o.feed, '/', 1) as agency_type,
           string_agg(distinct o.indicator, ', ' order by o.indicator) as outcome_indicators,
           array_to_string(array_agg(distinct lineage.file_id order by lineage.file_id), ', ') as outcome_files,
           bool_or(coalesce(f.is_synthetic, false)) as outcomes_are_synthetic
    from {{ ref('fct_outcomes') }} as o
    left join {{ ref('int_outcome_files') }} as lineage
        on lineage.feed = o.feed and lineage.lad_code = o.lad_code and lineage.financial_year = o.financial_year
    left join files as f on f.file_id = lineage.file_id
    group by 1, 2, 3

),

districts as (

    select place_code as lad_code, place_name as lad_name from {{ ref('dim_place') }} where place_level = 'lad'

),

years as (

    select financial_year from spend union select financial_year from outcomes

),

agencies as (

    select agency_type from (values ('council'), ('police'), ('fire'), ('nhs'), ('housing')) as a (agency_type)

)

select
    districts.lad_code::text as lad_code,
    districts.lad_name::text as lad_name,
    years.financial_year::text as financial_year,
    agencies.agency_type::text as agency_type,
    (spend.lad_code is not null)::boolean as has_spend,
    spend.spend_files::text as spend_files,
    (outcomes.lad_code is not null)::boolean as has_outcomes,
    outcomes.outcome_indicators::text as outcome_indicators,
    outcomes.outcome_files::text as outcome_files,
    (coalesce(spend.spend_is_synthetic, false) or coalesce(outcomes.outcomes_are_synthetic, false))::boolean
        as is_synthetic
from districts
cross join years
cross join agencies
left join spend
    on spend.lad_code = districts.lad_code and spend.financial_year = years.financial_year
    and spend.agency_type = agencies.agency_type
left join outcomes
    on outcomes.lad_code = districts.lad_code and outcomes.financial_year = years.financial_year
    and outcomes.agency_type = agencies.agency_type
where years.financial_year is not null
