-- Street crimes counted per source file, LSOA, month and crime type: the one model that reads every
-- published crime row, so it is incremental, keyed by file. A published file's rows never change,
-- so a build counts only the files it has not counted yet, and drops the counts of files no longer
-- published (superseded by a corrected re-send, or past retention; raw has one partition per
-- published file). Districts are joined downstream, so a changed ONS lookup needs no re-count.
-- `--full-refresh` recounts everything.
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where file_id not in "
                 "({{ published_files('raw.police__street_crime') }}){% endif %}",
    )
}}

-- its LSOA test reads the ONS lookup, built in the layer below:
-- depends_on: {{ ref('stg_reference__ons_lsoa_lookups') }}

{%- set new_files = none -%}
{%- if execute and is_incremental() -%}
    {#- the files still to count, as literals: PostgreSQL then reads only their partitions of raw -#}
    {%- set found = run_query(published_files('raw.police__street_crime')
                              ~ " except select distinct file_id from " ~ this) -%}
    {%- set new_files = found.columns[0].values() | list -%}
{%- endif %}

with

crimes as (

    select * from {{ ref('stg_police__street_crimes') }}
    {% if new_files is not none -%}
    where file_id in ({{ (new_files | join(', ')) if new_files else 'null' }})
    {%- endif %}

),

counted as (

    select
        file_id,
        month_start,
        lsoa_code,
        crime_type,
        is_anti_social_behaviour,
        count(*)::integer as crimes

    from crimes
    group by file_id, month_start, lsoa_code, crime_type, is_anti_social_behaviour

)

select * from counted
