{#- The UK public-sector financial year (April to March) of a date, written "2021-22". -#}
{% macro financial_year(d) -%}
    ((extract(year from {{ d }})::int - case when extract(month from {{ d }}) < 4 then 1 else 0 end)::text
     || '-' || lpad(((extract(year from {{ d }})::int - case when extract(month from {{ d }}) < 4 then 1 else 0 end + 1) % 100)::text, 2, '0'))::text
{%- endmacro %}

{#- First day (1 April) of the financial year of a date. -#}
{% macro financial_year_start(d) -%}
    make_date(extract(year from {{ d }})::int - case when extract(month from {{ d }}) < 4 then 1 else 0 end, 4, 1)
{%- endmacro %}
