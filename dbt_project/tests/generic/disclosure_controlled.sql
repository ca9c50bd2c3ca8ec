{#-
  A published count of people is safe: no value from 1 to the threshold, every value a multiple of
  the rounding base, and no group of cells adding up to a published total with exactly one
  withheld cell (which could be recovered by subtraction), nor with withheld cells that the total
  minus the published ones pins to fewer than the rounding base (all of them, then, to 0 up to
  4 people). `dims` are the dimensions whose cells add up to the 'all' cell; `partition_by`
  separates independent tables; `additive`: false where the 'all' cell is not the sum of the
  others (the top 1% of all places' offenders), which leaves the second check out.
-#}
{% test disclosure_controlled(model, column_name, dims, partition_by=[], additive=true) %}
{%- set base = var('rounding_base', 5) %}

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

{{ single_withheld_along(model, column_name, d, others, 'cell') }}
{%- if additive %}

union all

select 'withheld cells along {{ d }} that the published total pins to under {{ base }}', count(*)
from (
    select 1
    from {{ model }}
    {% if others %}group by {{ others | join(', ') }}{% endif %}
    having count(*) filter (where {{ column_name }} is null and {{ d }} <> 'all') > 0
        and count(*) filter (where {{ column_name }} is not null and {{ d }} = 'all') = 1
        -- the most the total (as published, up to rounding) leaves for them
        and max({{ column_name }}) filter (where {{ d }} = 'all') + {{ (base - 1) // 2 }}
            - coalesce(sum(greatest({{ column_name }} - {{ base // 2 }}, 0)) filter (where {{ d }} <> 'all'), 0)
            < {{ base }}
) as groups
having count(*) > 0
{%- endif %}
{%- endfor %}

{% endtest %}
