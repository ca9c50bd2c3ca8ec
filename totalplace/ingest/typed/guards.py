"""Builders of the SQL that says whether a cell's text can be cast to its column's type."""

from __future__ import annotations

from psycopg import sql

from totalplace.contracts import DATE_FORMATS, Column


def guard(col: Column, server_version: int, text: sql.Composable) -> sql.Composable:
    """SQL that is true when the column's trimmed text can be cast to its type.

    PostgreSQL >= 16 has ``pg_input_is_valid``, several times cheaper than a regular expression;
    older servers fall back to the contract type's pattern. Bounded repetitions such as ``{64}``
    are slow in PostgreSQL's regex engine, so the patterns here avoid them.
    """
    if col.type == "date":
        return sql.SQL("({})").format(sql.SQL(" or ").join(date_guards(col, text)))
    if col.type == "timestamp":
        # ISO 8601 shape first: pg_input_is_valid alone would also take words such as 'now' or 'epoch'
        return sql.SQL("(case when {t} ~ {p} then pg_input_is_valid({t}, 'timestamptz') else false end)").format(
            t=text, p=sql.Literal(col.value_pattern))
    if col.type == "month" and server_version >= 160000:
        # the shape by plain string functions (a regular expression costs ~1.5 s per million cells),
        # the rest - digits, month 01-12 - by the date parser
        return sql.SQL("(length({t}) = 7 and substr({t}, 5, 1) = '-' and translate({t}, '0123456789', '') = '-' "
                       "and pg_input_is_valid({t} || '-01', 'date'))").format(t=text)
    if col.thousands_separator or server_version < 160000 or col.type in ("month", "money"):
        guard = sql.SQL("{} ~ {}").format(text, sql.Literal(col.value_pattern))
        if col.type == "integer":  # a pattern cannot rule out bigint overflow
            guard = sql.SQL("({} and length({}) <= 18)").format(guard, text)
        return guard
    if col.type == "number":
        # letters other than an exponent would let 'NaN' and 'Infinity' through pg_input_is_valid
        return sql.SQL("({t} !~ '[^0-9eE.+-]' and pg_input_is_valid({t}, 'double precision'))").format(t=text)
    # integer: digits only, since pg_input_is_valid alone would accept '0x1F' and '1_000'
    return sql.SQL("({t} !~ '[^0-9+-]' and pg_input_is_valid({t}, 'bigint'))").format(t=text)


def date_guards(col: Column, text: sql.Composable) -> list[sql.Composable]:
    """One condition per accepted format: the text has the format's shape and is a real date."""
    guards = []
    for name in col.formats:
        pattern, iso = DATE_FORMATS[name]
        iso_sql = sql.SQL(iso.replace("{t}", "{}")).format(*([text] * iso.count("{t}")))
        # CASE fixes the order: the ISO conversion may only see text of the format's shape
        guards.append(sql.SQL("(case when {t} ~ {p} then coalesce(pg_input_is_valid({iso}, 'date'), false) "
                              "else false end)").format(t=text, p=sql.Literal(pattern), iso=iso_sql))
    return guards
