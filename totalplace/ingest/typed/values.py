"""Builders of the SQL that turns a cell's text into its contract type (NULL when it does not parse)."""

from __future__ import annotations

import psycopg
from psycopg import sql

from connectors.header import HeaderMatch
from totalplace.contracts import DATE_FORMATS, FLOAT_NOISE, NOISY_NUMBER_PATTERN, Column, Contract
from totalplace.ingest.tables import LandingTable
from totalplace.ingest.typed.cells import text_of
from totalplace.ingest.typed.guards import date_guards, guard


def value_expression(col: Column, server_version: int, text: sql.Composable) -> sql.Composable:
    """SQL turning the trimmed text of a column into its contract type, NULL when it does not parse."""
    if col.type == "date":
        return date_value(col, text)
    if col.type == "money":
        # "(1,496.00)", "1,496.00-" and "1,496.00 CR" are -1496.00; currency sign, separators, brackets
        # and the credit mark go before the cast; a program's float noise or exponent is rounded to
        # the column's decimals when (only when) it is that close to them
        return sql.SQL(
            "case when {g} then (case when {t} like '(%' or {t} like '%-' or {t} ilike '%cr' then -1 else 1 end) "
            "* regexp_replace({t}, '[£,()+ ]|-$|[Cc][Rr]$', '', 'g')::{type} "
            "when {noisy} then round({t}::numeric, {d})::{type} end"
        ).format(g=guard(col, server_version, text), t=text, type=sql.SQL(col.sql_type),
                 noisy=noisy_money(col, text), d=sql.Literal(col.decimals))
    plain = text
    if col.thousands_separator:
        plain = sql.SQL("replace({}, {}, '')").format(text, sql.Literal(col.thousands_separator))
    cast = {
        "integer": sql.SQL("{}::bigint"),
        "number": sql.SQL("{}::double precision"),
        "month": sql.SQL("({} || '-01')::date"),
        "timestamp": sql.SQL("{}::timestamptz"),
    }[col.type].format(plain)
    return sql.SQL("case when {} then {} end").format(guard(col, server_version, text), cast)


def date_value(col: Column, text: sql.Composable) -> sql.Composable:
    whens = []
    for name, test in zip(col.formats, date_guards(col, text), strict=True):
        iso = DATE_FORMATS[name][1]
        iso_sql = sql.SQL(iso.replace("{t}", "{}")).format(*([text] * iso.count("{t}")))
        whens.append(sql.SQL("when {} then ({})::date").format(test, iso_sql))
    return sql.SQL("case {} end").format(sql.SQL(" ").join(whens))


def noisy_money(col: Column, text: sql.Composable) -> sql.Composable:
    """SQL true when a money cell is a program's rendering of a figure in whole pence (float noise,
    scientific notation), not a figure with more decimal places than the column takes."""
    # CASE orders the tests: the cast only sees text of a number's shape, and no figure beyond the
    # column's 16 digits (an exponent could otherwise overflow the cast and stop the whole load)
    return sql.SQL("(case when {t} ~ {p} then abs({t}::numeric) < 1e15 "
                   "and abs({t}::numeric - round({t}::numeric, {d})) <= {noise} else false end)").format(
        t=text, p=sql.Literal(NOISY_NUMBER_PATTERN), d=sql.Literal(col.decimals), noise=sql.Literal(FLOAT_NOISE))


def rounded_money(conn: psycopg.Connection, table: LandingTable, contract: Contract,
                  match: HeaderMatch) -> list[tuple[str, int, str]]:
    """(header, count, first example) of each money column whose cells were rounded from float noise
    or scientific notation - for the report: a rounding the sender should know the platform made."""
    found = []
    for col in contract.header_columns:
        if col.type != "money" or col.name not in match.targets:
            continue
        text = text_of(col)
        count, example = conn.execute(sql.SQL(
            "select count(*), min({t}) from {table} where {t} !~ {p} and {noisy}").format(
            t=text, table=table.ident, p=sql.Literal(col.value_pattern), noisy=noisy_money(col, text))).fetchone()
        if count:
            found.append((match.headers[match.targets.index(col.name)], count, example))
    return found
