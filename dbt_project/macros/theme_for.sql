{#- The theme of a line of text, from the theme_map seed: the matching pattern of the given source
    with the lowest priority number; 'other' when nothing matches (counted in dq_unmapped_spend). -#}
{% macro theme_for(source, text) -%}
    coalesce((
        select m.theme_code from {{ ref('theme_map') }} as m
        where m.source = '{{ source }}' and {{ text }} ~* m.pattern
        order by m.priority, m.pattern
        limit 1
    ), 'other')
{%- endmacro %}
