"""Builders for a cell's text: trimmed and NULL when empty, counted, and recognised as a totals label."""

from __future__ import annotations

from psycopg import sql

from totalplace.contracts import Column, Contract


def text_of(col: Column, cell: sql.Composable | None = None) -> sql.Composable:
    """The cell (default: the landing column of the same name) with surrounding spaces removed, NULL when empty.

    ``btrim`` on every cell is the most expensive step of a load (measured: 3.4 s of a 1M-row,
    12-column police file), so it runs only on cells that start or end with a space (LIKE is the
    cheapest test: about half the cost of ``left``/``right``). COPY's ``force_null`` has already
    made every empty cell NULL, so a cell without such spaces is used as it is.
    """
    cell = cell if cell is not None else sql.Identifier(col.name)
    if not isinstance(cell, sql.Identifier):  # a constant or a measure cell, not a landed column
        return sql.SQL("nullif(btrim({}), '')").format(cell)
    return sql.SQL("case when {c} like ' %' or {c} like '% ' then nullif(btrim({c}), '') else {c} end").format(c=cell)


def filled_cells(columns: list[sql.Composable]) -> sql.Composable:
    """SQL counting the non-empty cells among ``columns`` (in groups: functions take at most 100 arguments)."""
    cells = [sql.SQL("nullif({}, '')").format(c) for c in columns]
    return sql.SQL("({})").format(sql.SQL(" + ").join(
        sql.SQL("num_nonnulls({})").format(sql.SQL(", ").join(cells[i:i + 100])) for i in range(0, len(cells), 100)))


def totals_condition(contract: Contract, cells: dict[str, sql.Composable]) -> sql.Composable:
    rule = contract.totals_rows
    if rule is None:
        return sql.SQL("false")
    tests = [sql.SQL("coalesce({} ~* {}, false)").format(
        text_of(contract.column_by_name[name], cells[name]), sql.Literal(rule.pattern)) for name in rule.columns]
    return sql.SQL("({})").format(sql.SQL(" or ").join(tests))
