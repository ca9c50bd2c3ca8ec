{#- Folders name their schema outright (staging, intermediate, marts, reference) instead of dbt's
    default "<target schema>_<custom schema>": analysts and grants refer to fixed schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
