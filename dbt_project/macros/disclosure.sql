{#-
  Statistical disclosure control for every published count of people.

  Primary suppression: a count from 1 to var('suppression_threshold') (default 7) is withheld
  (null); other counts are rounded to the nearest var('rounding_base') (default 5). Zero stays 0.

  Secondary suppression: a published table also publishes its totals, so one withheld cell in a
  row could be recovered as total minus the others. `secondary_suppression` withholds, in every
  group of cells that add up to a published total (the cells sharing all dimensions but one, the
  total cell included), the smallest other non-zero cell wherever exactly one is withheld - round
  after round, across every dimension, until no group has exactly one. The generic test
  `disclosure_controlled` proves the result on every build (a failure stops the publish).
-#}

{% macro disclose(count) -%}
    (case when {{ count }} between 1 and {{ var('suppression_threshold', 7) }} then null
          else (round(({{ count }})::numeric / {{ var('rounding_base', 5) }}) * {{ var('rounding_base', 5) }})::bigint end)
{%- endmacro %}

{#- Money tied to a withheld count of people is withheld with it. -#}
{% macro disclose_with(value, is_suppressed) -%}
    (case when {{ is_suppressed }} then null else {{ value }} end)
{%- endmacro %}

{#-
  `cells`: a relation or CTE with one row per cell, total cells included (their dimension value
  'all'); `count_column`: the exact count of people; `dims`: the dimension columns whose cells
  add up to the 'all' cell; `partition_by`: columns separating independent tables (e.g. the
  financial year). Returns a select of every column of `cells` plus `is_suppressed` and
  `published_count` (the count as it may be published: null when withheld, else rounded).
-#}
{% macro secondary_suppression(cells, count_column, dims, partition_by=[], rounds=4) -%}
{%- set keys = partition_by + dims -%}
with numbered as (

    select *, row_number() over (order by {{ keys | join(', ') }}) as _cell from {{ cells }}

),

round_0 as (

    select _cell, {{ keys | join(', ') }}, {{ count_column }} as _n,
        coalesce({{ count_column }} between 1 and {{ var('suppression_threshold', 7) }}, false) as _withheld
    from numbered

)
{%- set ns = namespace(previous='round_0', step=0) %}
{%- for r in range(rounds) %}
{%- for d in dims %}
{%- set others = partition_by + (dims | reject('equalto', d) | list) %}
{%- set ns.step = ns.step + 1 %}
{%- set window = ('partition by ' ~ (others | join(', '))) if others else '' %},

round_{{ ns.step }} as (

    -- along {{ d }}: where a group has exactly one withheld cell, withhold its smallest other non-zero cell
    select _cell, {{ keys | join(', ') }}, _n,
        _withheld or (
            count(*) filter (where _withheld) over ({{ window }}) = 1
            and not _withheld and _n > 0
            and row_number() over ({{ window }} order by (_withheld or _n = 0), _n, _cell) = 1
        ) as _withheld
    from {{ ns.previous }}

)
{%- set ns.previous = 'round_' ~ ns.step %}
{%- endfor %}
{%- endfor %}

select numbered.*, final._withheld as is_suppressed,
    case when final._withheld then null else {{ disclose('numbered.' ~ count_column) }} end as published_count
from numbered
join {{ ns.previous }} as final on final._cell = numbered._cell
{%- endmacro %}

{#- The name of a district in a cohort mart, or of the 'all' and 'unknown' rows. -#}
{% macro cohort_place_name(code, name) -%}
    (case {{ code }} when 'all' then 'All places' when 'unknown' then 'Home not known'
        else coalesce({{ name }}, {{ code }}) end)::text
{%- endmacro %}
