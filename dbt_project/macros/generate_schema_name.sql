{#- Folders name their schema outright (staging, intermediate, marts, reference) instead of dbt's
    default "<target schema>_<custom schema>": analysts and grants refer to fixed schema names.
    Write-audit-publish: the platform builds into "<schema>__build" (TOTALPLACE_DBT_SCHEMA_SUFFIX),
    audits it, and only then swaps it in for the published schema in one transaction. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = env_var('TOTALPLACE_DBT_SCHEMA_SUFFIX', '') -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{{ suffix }}{%- else -%}{{ custom_schema_name | trim }}{{ suffix }}{%- endif -%}
{%- endmacro %}
