{#-
  A published count of people is safe: no value from 1 to the threshold, every value a multiple of
  the rounding base, and no group of cells adding up to a published total with exactly one
  withheld cell (which could be recovered by subtraction). `dims` are the dimensions whose cells
  add up to the 'all' cell; `partition_by` separates independent tables.
-#}
{% test disclosure_controlled(model, column_name, dims, partition_by=[]) %}

select 'published count of 1 to {{ var("suppression_threshold", 7) }}' as problem, count(*) as cells
from {{ model }}
where {{ column_name }} between 1 and {{ var('suppression_threshold', 7) }}
having count(*) > 0

union all

select 'count not rounded to {{ var("rounding_base", 5) }}', count(*)
from {{ model }}
where {{ column_name }} % {{ var('rounding_base', 5) }} <> 0
having count(*) > 0
{% for d in dims %}
{%- set others = partition_by + (dims | reject('equalto', d) | list) %}

union all

select 'a single withheld cell along {{ d }} (recoverable from the total)', count(*)
from (
    select 1
    from {{ model }}
    {% if others %}group by {{ others | join(', ') }}{% endif %}
    having count(*) filter (where {{ column_name }} is null) = 1
) as groups
having count(*) > 0
{%- endfor %}

{% endtest %}
