{% macro published_files(source_relations) -%}
    {#- SQL listing the file_id of every file published into the given raw table(s) ('raw.x' or a
        list of them): one partition per file, read from the catalogue (no scan of the rows) -#}
    {%- set relations = [source_relations] if source_relations is string else source_relations -%}
    select substring(pg_get_expr(c.relpartbound, c.oid) from '[0-9]+')::bigint as file_id
    from pg_inherits as i
    inner join pg_class as c on c.oid = i.inhrelid
    where i.inhparent in ({% for r in relations %}'{{ r }}'::regclass{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{% macro files_to_build(source_relations, version=none) -%}
    {#- For an incremental model keyed by file: the files published in ``source_relations`` that
        ``this`` does not hold yet (at ``version``, an SQL expression stored per row in
        ``built_version``), as a list of literals - so PostgreSQL reads only their partitions of
        raw. None on a full build (every file is built). Runs at compile time, before the model's
        pre-hook (``drop_unpublished_files``), so it must agree with what that hook keeps. -#}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set built = "select distinct file_id from " ~ this
                    ~ ((" where built_version = " ~ version) if version is not none else "") -%}
    {%- set found = run_query(published_files(source_relations) ~ " except " ~ built) -%}
    {{ return(found.columns[0].values() | list) }}
{%- endmacro %}


{% macro only_files(files) -%}
    {#- A condition on file_id: the given files (from files_to_build), or every file when None -#}
    {%- if files is none -%}true
    {%- elif files -%}file_id in ({{ files | join(', ') }})
    {%- else -%}false
    {%- endif -%}
{%- endmacro %}


{% macro drop_unpublished_files(source_relations, version=none) -%}
    {#- Pre-hook of an incremental model keyed by file: forget the files no longer published
        (superseded by a corrected re-send, or past retention) and, with ``version``, every row
        built at another version of what the model reads besides raw (e.g. a mapping seed) -#}
    {%- if is_incremental() -%}
    delete from {{ this }} where file_id not in ({{ published_files(source_relations) }})
    {%- if version is not none %} or built_version is distinct from {{ version }}{% endif %}
    {%- endif -%}
{%- endmacro %}


{% macro mapping_version() -%}
    {#- SQL for one text that changes whenever a row of the theme_map or bodies seed changes -#}
    (select md5(coalesce(string_agg(_v.line, '|' order by _v.line), ''))
     from (select _m::text as line from {{ ref('theme_map') }} as _m
           union all select _b::text from {{ ref('bodies') }} as _b) as _v)
{%- endmacro %}
