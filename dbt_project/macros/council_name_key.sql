{#- A council's or an area's name as a matching key: the kind of council and its style taken off
    ("London Borough of", "City Council" ...), "&" as "and", punctuation, case and spacing ignored. -#}
{% macro council_name_key(name) -%}
    btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(lower(replace({{ name }}, '&', ' and ')),
        '^\s*(the\s+)?(london\s+borough\s+of|royal\s+borough\s+of|city\s+and\s+county\s+of|city\s+of|county\s+of|borough\s+of)\s+', ''),
        '\s+(metropolitan\s+borough|metropolitan\s+district|city|county|borough|district|unitary)?\s*council\s*$', ''),
        '[^a-z0-9]+', ' ', 'g'), '\s+', ' ', 'g'))
{%- endmacro %}
