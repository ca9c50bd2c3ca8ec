{#-
  Views run with the privileges and row-level security of the querying role (security_invoker),
  so a view over raw never shows a role more than the raw table would. Tables: nothing to do.
-#}
{% macro invoker_rights() -%}
    {%- if config.get('materialized') == 'view' -%}
        alter view {{ this }} set (security_invoker = true)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
