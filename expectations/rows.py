"""Whole-file checks on a typed table that GX's per-column expectations do not express, run as SQL.

A wide table's rows must add up to their own total column; the contract's ``unique`` columns must not
repeat. Each returns one problem naming the lines (and both figures), or None.
"""

from __future__ import annotations

from psycopg import sql

from totalplace.contracts import Contract
from totalplace.reports import Problem


def rows_not_adding_up(conn, typed, contract: Contract, header_line: int) -> Problem | None:
    """Rows of a wide table whose values do not add up to the row's own total column (the
    publisher's "All ages"): one problem naming the lines, each with both figures."""
    total, value = contract.unpivot.row_total, contract.unpivot.value_column
    # a row with a value that does not parse is the gate's to report, with the value: not judged here
    found = conn.execute(sql.SQL(
        "select _row_number, min({t}), sum({v}), count(*) from {typed} group by _row_number "
        "having sum({v}) is distinct from min({t}) and bool_and({ti} is null and {vi} is null) order by 1").format(
            t=sql.Identifier(total), v=sql.Identifier(value), typed=typed,
            ti=sql.Identifier(contract.column_by_name[total].invalid_column),
            vi=sql.Identifier(contract.column_by_name[value].invalid_column))).fetchall()
    if not found:
        return None
    header = contract.column_by_name[total].header
    return Problem(
        check="row_total", column=total, header=header, rows_failing=len(found),
        rule=f"each row's {contract.unpivot.key_column} columns must add up to its own {header!r}: "
             f"{len(found)} row(s) do not (a column lost, doubled or mistyped?)",
        examples=[{"row": r, "line": r + header_line, "value": f"{header} {t}, the {n} columns add up to {v}"}
                  for r, t, v, n in found[:10]])


def repeated_rows(conn, typed, contract: Contract, header_line: int) -> Problem | None:
    """The rows that repeat the contract's ``unique`` columns (e.g. an authority's row pasted twice
    in a return), as one problem naming each value and its lines; None when every row is its own."""
    key = sql.SQL(", ").join(sql.Identifier(c) for c in contract.unique)
    found = conn.execute(sql.SQL(
        "select concat_ws(' / ', {k}), array_agg(distinct _row_number order by _row_number) from {t} "
        "group by {k} having count(distinct _row_number) > 1 order by min(_row_number)").format(k=key, t=typed)).fetchall()
    if not found:
        return None
    headers = " + ".join(repr(contract.column_by_name[c].header) for c in contract.unique)
    return Problem(
        check="unique_rows", column=contract.unique[0], header=headers, rows_failing=sum(len(r) for _, r in found),
        rule=f"each row must have its own {headers} (a row given twice would be counted twice): "
             f"{len(found)} value(s) appear on more than one line",
        examples=[{"row": rows[1], "line": rows[1] + header_line, "value": f"{value} (also line {rows[0] + header_line})"}
                  for value, rows in found[:10]])
