"""``<landing>__typed``: the file's rows cast to the contract's types, in one CREATE TABLE AS."""

from __future__ import annotations

import psycopg
from psycopg import sql

from connectors.header import HeaderMatch
from totalplace.access import protect
from totalplace.contracts import Column, Contract
from totalplace.ingest.pseudonymise import validity_column
from totalplace.ingest.tables import LandingTable, landed_columns
from totalplace.ingest.typed.cells import filled_cells, text_of, totals_condition
from totalplace.ingest.typed.non_data import TypedTable, set_aside_non_data
from totalplace.ingest.typed.values import value_expression


def create_typed_table(conn: psycopg.Connection, table: LandingTable, contract: Contract, match: HeaderMatch,
                       landed_rows: int, constants: dict[str, str | None] | None = None,
                       sent_by: str | None = None, agreement: str | None = None) -> TypedTable:
    """``<landing>__typed``: every contract column trimmed and cast to its type, extras as JSON.

    Built in one pass (CREATE TABLE AS, which PostgreSQL can run in parallel). The gate validates
    this table and, if it passes, the very same table becomes the file's partition of
    ``raw.<agency>__<feed>`` - so what was checked is exactly what is published, and publishing
    moves no rows. ``<col>__invalid`` holds the text of a cell that does not parse as its type
    (else NULL; ``''`` for an empty cell in a column that must not be empty): the gate expects it to
    be NULL, and its report shows the sender's own value.

    Rows that are not data are taken out here and described in the result: rows with no value
    at all (the trailing ",,,,," lines exports leave), note rows below the data (one cell filled,
    e.g. "Source: ..."), and totals rows the contract describes - whose amounts the data must add
    up to. ``constants`` gives the per-file text of columns read from the title rows or file name.
    A wide feed (``unpivot``) yields one row per measure cell, numbered by ``_column_number``.
    ``_sent_by`` is the partner body that sent the file, ``_agreement`` the data-sharing agreement
    it was accepted under, on every row.
    """
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    # a person-level file's typed table is unlogged until it is published (publish.publish_rows): a
    # rejected one leaves nothing of its cells (the text of invalid ones included) in the write-ahead log
    conn.execute(sql.SQL("create {} table {} with (autovacuum_enabled = false) as {}").format(
        sql.SQL("unlogged" if contract.person_identifiers else ""), table.typed,
        typed_select(table, contract, match, conn.info.server_version, constants, sent_by, agreement)))
    protect(conn, table.ident, contract.agency, sent_by)  # the file's cells as sent: its sender's to read
    protect(conn, table.typed, contract.agency, sent_by)  # it becomes the file's partition of raw
    result = set_aside_non_data(conn, table, contract, match, landed_rows)
    # an absent column or an empty cell that defaults to the sender: filled once totals rows and notes
    # are set aside (a totals row's label is the sender's words, not the sender's name)
    for col in contract.header_columns:
        if col.default == "sender":
            conn.execute(sql.SQL("update {t} set {c} = {v} where {c} is null").format(
                t=table.typed, c=sql.Identifier(col.name), v=sql.Literal(sent_by or "(the sending body)")))
    conn.execute(sql.SQL("alter table {} drop column _cells, drop column _total, drop column _note, {}").format(
        table.typed, sql.SQL(", ").join(sql.SQL("alter column {} set not null").format(sql.Identifier(k))
                                        for k in contract.row_key)))
    return result


def typed_select(table: LandingTable, contract: Contract, match: HeaderMatch, server_version: int,
                 constants: dict[str, str | None] | None = None, sent_by: str | None = None,
                 agreement: str | None = None) -> sql.Composed:
    """The SELECT that types a landed file (``create_typed_table``): pure - no database needed to build or test it.

    Each typed value is computed once, in an inner query the planner may not flatten (``offset 0``),
    and the outer query derives ``<col>__invalid`` from it; rows with no cell filled are left out.
    Working columns ``_cells``, ``_total`` and ``_note`` say what is not data (dropped afterwards).
    """
    version = server_version
    cells: dict[str, sql.Composable] = {c.name: sql.Identifier(c.name) for c in contract.header_columns}
    for name, value in (constants or {}).items():
        cells[name] = sql.Literal(value)
    landed = [sql.Identifier(c) for c in landed_columns(contract, match)]
    items: list[sql.Composable] = [sql.SQL("_file_id"), sql.SQL("_row_number")]
    source = sql.SQL("(select *, {} as _cells from {}) as _l").format(filled_cells(landed), table.ident)
    if contract.unpivot is not None:
        key, value = contract.unpivot.key_column, contract.unpivot.value_column
        measures = sql.SQL(", ").join(
            sql.SQL("({}, {}, {})").format(sql.Literal(number), sql.Literal(header), sql.Identifier(measure))
            for measure, (number, header) in match.measures.items())
        source = sql.SQL("{} cross join lateral (values {}) as _m(_column_number, _key, _value)").format(source, measures)
        cells[key], cells[value] = sql.SQL("_m._key"), sql.SQL("_m._value")
        items.append(sql.SQL("_m._column_number::integer as _column_number"))
    if contract.match_key:
        items.append(sql.SQL("nullif(match_key, '') as match_key"))
    outer: list[sql.Composable] = []
    for col in contract.stored_columns:
        inner, shown = typed_column(col, text_of(col, cells.get(col.name, sql.NULL)), version, match.derived)
        items += inner
        outer += shown
    items.append(sql.SQL("{} as _extra").format(extra_object(match.unknown)))
    items.append(sql.SQL("{}::text as _sent_by").format(sql.Literal(sent_by)))
    items.append(sql.SQL("{}::text as _agreement").format(sql.Literal(agreement)))
    items.append(sql.SQL("_cells"))
    items.append(sql.SQL("{} as _total").format(totals_condition(contract, cells)))
    # a note below the data fills one cell and leaves a column empty that data rows must fill
    must = [sql.SQL("nullif({}, '')").format(sql.Identifier(c.name)) for c in contract.header_columns
            if not c.nullable]
    items.append(sql.SQL("(_cells = 1 and num_nulls({}) > 0) as _note").format(sql.SQL(", ").join(must))
                 if must else sql.SQL("false as _note"))
    first = [sql.SQL("_file_id"), sql.SQL("_row_number")] + (
        [sql.SQL("_column_number")] if contract.unpivot else []) + ([sql.SQL("match_key")] if contract.match_key else [])
    outer = first + outer + [sql.SQL(c) for c in ("_extra", "_sent_by", "_agreement", "_cells", "_total", "_note")]
    return sql.SQL("select {} from (select {} from {} where _cells > 0 offset 0) as _v").format(
        sql.SQL(", ").join(outer), sql.SQL(", ").join(items), source)


def typed_column(col: Column, text: sql.Composable, server_version: int,
                 derived: list[str]) -> tuple[list[sql.Composable], list[sql.Composable]]:
    """One contract column's part of the SELECT: (inner items, outer items).

    A text column is its trimmed text. A typed one is its value (NULL when the text does not parse),
    its trimmed text as ``<col>__text`` inside, and outside ``<col>__invalid``: the text of a cell that
    did not parse, ``''`` for an empty cell that must not be empty, NULL for a marker of a withheld
    value (with ``<col>_suppressed`` saying so). An NHS number also gets ``<col>_is_valid``, from the
    check digit pseudonymisation computed before the number was replaced (``derived``).
    """
    name = sql.Identifier(col.name)
    inner: list[sql.Composable] = []
    outer: list[sql.Composable] = []
    if col.identifier == "nhs_number":
        valid = sql.Identifier(validity_column(col.name)) if validity_column(col.name) in derived else sql.NULL
        inner.append(sql.SQL("(nullif({}, '') = 't') as {}").format(valid, sql.Identifier(f"{col.name}_is_valid")))
        outer.append(sql.Identifier(f"{col.name}_is_valid"))
    if col.type == "text":
        return [*inner, sql.SQL("{} as {}").format(text, name)], [*outer, name]
    # the explicit cast pins the column type (e.g. numeric(18, 2)) to the raw table's
    inner.append(sql.SQL("({})::{} as {}").format(value_expression(col, server_version, text), sql.SQL(col.sql_type), name))
    inner.append(sql.SQL("{} as {}").format(text, sql.Identifier(f"{col.name}__text")))
    outer.append(name)
    t = sql.Identifier(f"{col.name}__text")
    empty = sql.SQL("''") if not col.nullable else sql.SQL("null")
    markers = sql.Literal(col.suppression_markers)
    withheld = sql.SQL("when {t} = any({m}) then null ").format(t=t, m=markers) if col.suppression_markers else sql.SQL("")
    outer.append(sql.SQL("case when {t} is null then {e} {w}when {v} is null then {t} end as {n}").format(
        t=t, e=empty, w=withheld, v=name, n=sql.Identifier(col.invalid_column)))
    if col.flag_column:
        outer.append(sql.SQL("coalesce({t} = any({m}), false) as {f}").format(
            t=t, m=markers, f=sql.Identifier(col.flag_column)))
    return inner, outer


def extra_object(unknown: dict[str, str]) -> sql.Composable:
    """``_extra``: the file's columns the contract does not know, as one JSON object per row (header -> cell).

    PostgreSQL functions take at most 100 arguments, so the object is built 50 pairs at a time and
    the pieces joined with ``||``; NULL when the file has no such column."""
    if not unknown:
        return sql.SQL("null::jsonb")
    pairs = [sql.SQL("{}, {}").format(sql.Literal(header), sql.Identifier(extra)) for extra, header in unknown.items()]
    objects = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + 50]))
               for i in range(0, len(pairs), 50)]
    return sql.SQL("jsonb_strip_nulls({})").format(sql.SQL(" || ").join(objects))
