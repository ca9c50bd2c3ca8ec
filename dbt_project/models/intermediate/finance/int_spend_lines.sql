-- Every spend line of every agency in one shape, before it is placed in districts. Four bases:
--   outturn       - service-level totals for a year (MHCLG RO returns), council, police and fire bodies
--   transaction   - payment lines (council spend over £500, NHS spend over £25k)
--   activity_cost - tariff cost of NHS activity (A&E attendances, admissions), placed by patient's LSOA
-- RA budget lines are not spend and are left out. Redacted suppliers are kept as "redacted".
--
-- An activity line is one patient's attendance or admission (LSOA, date, diagnosis group): it never
-- leaves intermediate as a row. int_activity_cost_cells_suppressed aggregates the lines of
-- person-level feeds under disclosure control and int_spend_lines_disclosed publishes only that.
--
-- Incremental, keyed by file: a published file's rows never change, so a build themes and places
-- only the files it has not seen (a million spend lines take ~20 s to theme by pattern). Each row
-- keeps the version of the theme_map and bodies seeds it was built with: when a mapping changes,
-- every line is rebuilt with it. Files no longer published (superseded, past retention) are dropped.
{%- set raw_tables = ['raw.council__revenue_outturn', 'raw.council__spend_over_500', 'raw.nhs__spend_over_25k',
                      'raw.nhs__ae_attendances', 'raw.nhs__hospital_admissions'] %}
{%- set version = mapping_version() %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook="{{ drop_unpublished_files(" ~ raw_tables ~ ", mapping_version()) }}",
    )
}}
{%- set new_files = files_to_build(raw_tables, version) %}
with

revenue as (

    select * from {{ ref('stg_council__revenue_lines') }}
    where figure_kind = 'outturn'
      -- one column per service: its net current expenditure; totals across services are left out
      -- (the audit checks every file's lines against its own total, counted by the feed's contract)
      and measure ilike 'net current expenditure%'
      and service not ilike 'total service expenditure%'
      and amount is not null
      and amount <> 0  -- a service an authority does not provide is written as 0
      and {{ only_files(new_files) }}

),

payments as (

    select 'council/spend_over_500' as feed, 'council' as agency_type, 'council_expense' as theme_source,
           file_id, row_number, body_name, payment_date, expense_area, expense_type, supplier_name,
           is_supplier_redacted, amount
    from {{ ref('stg_council__payments') }}
    where {{ only_files(new_files) }}
    union all
    select 'nhs/spend_over_25k', 'nhs', 'nhs_category',
           file_id, row_number, body_name, payment_date, expense_area, expense_type, supplier_name,
           is_supplier_redacted, amount
    from {{ ref('stg_nhs__payments') }}
    where {{ only_files(new_files) }}

),

attendances as (

    select * from {{ ref('stg_nhs__ae_attendances') }}
    where {{ only_files(new_files) }}

),

admissions as (

    select * from {{ ref('stg_nhs__hospital_admissions') }}
    where {{ only_files(new_files) }}

),

bodies as (

    -- the seed's bodies, and councils it does not know placed by their names (int_bodies)
    select * from {{ ref('int_bodies') }}

),

outturn as (

    select
        'council/revenue_outturn' as feed,
        file_id,
        row_number,
        column_number,
        -- the service decides the agency: the police services of the GLA (MOPAC) or the City of London
        -- are police spend, whoever returns them
        case
            when service like 'Police services%' or authority_detailed_class = 'P' then 'police'
            when service like 'Fire and rescue%' or authority_detailed_class = 'FR' then 'fire'
            else 'council'
        end as agency_type,
        authority_name as body_name,
        authority_code as place_code,
        case
            when authority_code ~ '^[EW]0[6-9]' then 'lad'
            when authority_code ~ '^E1[013]' then 'utla'
            when authority_code ~ '^E12' then 'region'
            when authority_code ~ '^[EW]23' then 'force'
            when authority_code ~ '^(E3[01]|W25)' then 'fire'
            when authority_code ~ '^E47' then 'combined_authority'
            when authority_code ~ '^E50' then 'joint_authority'
            else 'other'
        end as place_level,
        financial_year,
        null::date as spend_date,
        'outturn' as basis,
        {{ theme_for('council_service_line', 'service') }} as theme_code,
        service as line_description,
        null::text as supplier_name,
        amount

    from revenue

),

transactions as (

    select
        payments.feed,
        payments.file_id,
        payments.row_number,
        null::integer,
        payments.agency_type,
        payments.body_name,
        bodies.place_code,
        bodies.place_level,
        {{ financial_year('payments.payment_date') }},
        payments.payment_date,
        'transaction',
        -- council lines are themed by expense area and type, NHS lines by expense type
        case payments.theme_source
            when 'council_expense'
                then {{ theme_for('council_expense', "payments.expense_area || ' ' || payments.expense_type") }}
            else {{ theme_for('nhs_category', 'payments.expense_type') }}
        end,
        payments.expense_area || ' / ' || payments.expense_type,
        case when payments.is_supplier_redacted then 'redacted' else payments.supplier_name end,
        payments.amount

    from payments
    left join bodies on bodies.body_name = payments.body_name

),

activity as (

    select 'nhs/ae_attendances' as feed, file_id, row_number, provider_code, lsoa_code, arrival_date as activity_date,
           diagnosis_group, cost
    from attendances
    union all
    select 'nhs/hospital_admissions', file_id, row_number, null, lsoa_code, admission_date, diagnosis_group, cost
    from admissions

),

activity_costs as (

    select
        feed,
        file_id,
        row_number,
        null::integer,
        'nhs',
        coalesce('NHS provider ' || provider_code, 'NHS providers'),
        lsoa_code,
        'lsoa',
        {{ financial_year('activity_date') }},
        activity_date,
        'activity_cost',
        {{ theme_for('nhs_category', 'diagnosis_group') }},
        diagnosis_group,
        null::text,
        cost

    from activity
    where cost is not null

),

lines as (

    select * from outturn
    union all
    select * from transactions
    union all
    select * from activity_costs

)

select lines.*, {{ version }} as built_version
from lines
