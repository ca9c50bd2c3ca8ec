{#-
  Published money of people is safe: every figure rounded to var('money_rounding_base'); none
  published where the count of the people it is the money of is withheld (`withheld_with`, when
  that count is a column of the model); no group of figures adding up to a published total with
  exactly one withheld (`dims` whose cells add up to the 'all' cell, `partition_by` separating
  independent tables); and no row where the figure and `parts`, the columns adding up to it (the
  agencies' costs of a total cost), have exactly one withheld between them.
-#}
{% test disclosure_controlled_money(model, column_name, dims=[], partition_by=[], withheld_with=none, parts=[]) %}

select 'money not rounded to {{ var("money_rounding_base", 1000) }}' as problem, count(*) as cells
from {{ model }}
where {{ column_name }} % {{ var('money_rounding_base', 1000) }} <> 0
having count(*) > 0
{%- if withheld_with %}

union all

select 'money published where its count ({{ withheld_with }}) is withheld', count(*)
from {{ model }}
where {{ column_name }} is not null and {{ withheld_with }} is null
having count(*) > 0
{%- endif %}
{%- for d in dims %}
{%- set others = partition_by + (dims | reject('equalto', d) | list) %}

union all

{{ single_withheld_along(model, column_name, d, others, 'figure') }}
{%- endfor %}
{%- if parts %}

union all

select 'a single withheld figure among {{ column_name }} and its parts (recoverable from the row)', count(*)
from {{ model }}
where ({{ column_name }} is null)::int
    {%- for part in parts %} + ({{ part }} is null)::int{% endfor %} = 1
having count(*) > 0
{%- endif %}

{% endtest %}
