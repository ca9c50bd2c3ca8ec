{#-
  Statistical disclosure control for every published count of people, and the money of those people.

  Primary suppression: a count from 1 to var('suppression_threshold') (default 7) is withheld
  (null); other counts are rounded to the nearest var('rounding_base') (default 5). Zero stays 0.

  Secondary suppression: a published table also publishes its totals, so one withheld cell in a
  row could be recovered as total minus the others - and two or more, as their sum, which says
  as much as a small count when it is 0-7. `secondary_suppression` withholds, in every group of cells
  that add up to a published total (the cells sharing all dimensions but one, the total cell
  included), the smallest other non-zero cell wherever exactly one is withheld or the withheld
  ones add up to 0-7 under a published total - round after round, across every dimension, until
  no group has either. The generic test `disclosure_controlled` proves the result on every build
  (a failure stops the publish).

  Money: a sum of money is the money *of* some people (the council cost of the children in care
  of a district, say) and is withheld whenever the count of those people is (`disclose_with`);
  published, it is rounded to the nearest var('money_rounding_base') (default £1,000), so that a
  total minus its parts - or one mart's figure minus another's - is never exact. A quantity that
  more than one mart publishes gets one decision, made once for all of them
  (`int_cohort_cells_suppressed`): no mart publishes what another withholds.
-#}

{% macro disclose(count) -%}
    (case when {{ count }} between 1 and {{ var('suppression_threshold', 7) }} then null
          else (round(({{ count }})::numeric / {{ var('rounding_base', 5) }}) * {{ var('rounding_base', 5) }})::bigint end)
{%- endmacro %}

{#-
  Money as it may be published: rounded to the nearest var('money_rounding_base'). A fixed base
  in pounds (not significant figures) because the guarantee is then the same for every figure:
  whatever published figures are added or subtracted, the result is uncertain by half the base
  per figure, and tables still add up to within that; £1,000 as councils' finance returns publish
  (£ thousand), fine enough for the cost of a cohort (tens of thousands of pounds a person).
-#}
{% macro disclose_money(value) -%}
    (round(({{ value }})::numeric / {{ var('money_rounding_base', 1000) }}) * {{ var('money_rounding_base', 1000) }})
{%- endmacro %}

{#- Money of people whose count is withheld is withheld with it; otherwise rounded. -#}
{% macro disclose_with(value, is_suppressed) -%}
    (case when {{ is_suppressed }} then null else {{ disclose_money(value) }} end)
{%- endmacro %}

{#-
  `cells`: a relation or CTE with one row per cell, total cells included (their dimension value
  'all'); `count_column`: the exact count of people; `dims`: the dimension columns whose cells
  add up to the 'all' cell; `partition_by`: columns separating independent tables (e.g. the
  financial year); `withhold`: optionally a boolean column of `cells` that withholds a cell
  whatever its count (a decision made elsewhere, e.g. in another table the cell belongs to).
  `additive`: false where the 'all' cell is not the sum of the others (then no sum of withheld
  cells follows from it). Returns a select of every column of `cells` plus `is_suppressed` and
  `published_count` (the count as it may be published: null when withheld, else rounded).
-#}
{% macro secondary_suppression(cells, count_column, dims, partition_by=[], rounds=4, withhold=none, additive=true) -%}
{%- set keys = partition_by + dims -%}
with numbered as (

    select *, row_number() over (order by {{ keys | join(', ') }}) as _cell from {{ cells }}

),

round_0 as (

    select _cell, {{ keys | join(', ') }}, {{ count_column }} as _n,
        coalesce({{ count_column }} between 1 and {{ var('suppression_threshold', 7) }}, false)
            {%- if withhold %} or coalesce({{ withhold }}, false){% endif %} as _withheld
    from numbered

)
{%- set ns = namespace(previous='round_0', step=0) %}
{%- for r in range(rounds) %}
{%- for d in dims %}
{%- set others = partition_by + (dims | reject('equalto', d) | list) %}
{%- set ns.step = ns.step + 1 %}
{%- set window = ('partition by ' ~ (others | join(', '))) if others else '' %},

round_{{ ns.step }} as (

    -- along {{ d }}: where a group has exactly one withheld cell, or withheld cells adding up to 0-7
    -- under a published total (the total minus the published cells is their sum: a small count),
    -- withhold its smallest other non-zero cell
    select _cell, {{ keys | join(', ') }}, _n,
        _withheld or (
            not _withheld and _n > 0
            and row_number() over ({{ window }} order by (_withheld or _n = 0), _n, _cell) = 1
            and (
                count(*) filter (where _withheld) over ({{ window }}) = 1
                {%- if additive %}
                or (
                    count(*) filter (where _withheld) over ({{ window }}) > 1
                    and not coalesce(bool_or(_withheld) filter (where {{ d }} = 'all') over ({{ window }}), true)
                    and sum(_n) filter (where _withheld) over ({{ window }}) <= {{ var('suppression_threshold', 7) }}
                )
                {%- endif %}
            )
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

{#- For the generic tests: groups of `model` (sharing `others`) with exactly one withheld value
    along `d` - recoverable as the published total minus the rest. -#}
{% macro single_withheld_along(model, column_name, d, others, what='cell') -%}
select 'a single withheld {{ what }} along {{ d }} (recoverable from the total)', count(*)
from (
    select 1
    from {{ model }}
    {% if others %}group by {{ others | join(', ') }}{% endif %}
    having count(*) filter (where {{ column_name }} is null) = 1
) as groups
having count(*) > 0
{%- endmacro %}

{#-
  The person-level feeds ('agency/feed'), as an SQL text[]: the sources whose contract lists
  person_identifiers (`totalplace generate` marks them meta.person_level). A row of one of them is
  about one person or one person's event: it reaches a mart only in an aggregate under disclosure
  control (int_activity_cost_cells_suppressed, int_outcome_cells_suppressed, the cohort marts).
  Read from the contracts, not listed here, so a new person-level feed is controlled from its first file.
-#}
{% macro person_level_feeds() -%}
    {%- set feeds = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.meta.get('person_level') -%}
            {%- do feeds.append(node.name | replace('__', '/', 1)) -%}
        {%- endfor -%}
    {%- endif -%}
    array[{% for feed in feeds | sort %}'{{ feed }}'{{ ', ' if not loop.last }}{% endfor %}]::text[]
{%- endmacro %}
