{% macro published_files(source_relation) -%}
    {#- SQL listing the file_id of every file published into a raw table: one partition per file,
        read from the catalogue (no scan of the rows) -#}
    select substring(pg_get_expr(c.relpartbound, c.oid) from '[0-9]+')::bigint as file_id
    from pg_inherits as i
    inner join pg_class as c on c.oid = i.inhrelid
    where i.inhparent = '{{ source_relation }}'::regclass
{%- endmacro %}
