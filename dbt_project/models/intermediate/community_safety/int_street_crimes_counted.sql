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
        pre_hook="{{ drop_unpublished_files('raw.police__street_crime') }}",
    )
}}

-- its LSOA test reads the ONS lookup, built in the layer below:
-- depends_on: {{ ref('stg_reference__ons_lsoa_lookups') }}

{%- set new_files = files_to_build('raw.police__street_crime') %}

with

crimes as (

    select * from {{ ref('stg_police__street_crimes') }}
    where {{ only_files(new_files) }}

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
