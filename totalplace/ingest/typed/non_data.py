"""Rows that are not data: totals rows (labelled or not) and notes below the data, set aside and reconciled.

A totals row is never loaded as data: its amounts must equal the lines above it (to the tolerance
of its contract), else the file is refused naming both figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from connectors.header import HeaderMatch
from totalplace.contracts import Contract
from totalplace.ingest.tables import LandingTable, landed_columns


@dataclass
class TypedTable:
    """What building the typed table found: data rows, and the rows that were not data."""

    rows: int
    empty_rows: int = 0
    footer: list[tuple[int, str]] = field(default_factory=list)
    """(row number, text) of note rows below the data ("Source: ...")."""
    totals: list[dict] = field(default_factory=list)
    """Totals rows the publisher added: row number, label and amounts; never loaded as data."""
    problems: list[str] = field(default_factory=list)
    """Reconciliation failures: the data does not add up to the file's own totals row."""


FOOTER_NOTES_SHOWN = 20


def set_aside_non_data(conn: psycopg.Connection, table: LandingTable, contract: Contract,
                        match: HeaderMatch, landed_rows: int) -> TypedTable:
    """Find totals rows and what lies below the data, reconcile, and delete them from the typed table.

    Below the data are note rows ("Source: ...": one cell filled, a column data rows must fill left
    empty) after the last data row, and anything after the grand totals row.
    """
    t = table.typed
    # one scan for the common case: a file with no note rows and no totals rows needs nothing more
    source_rows, rows, totals, notes = conn.execute(sql.SQL(
        "select {}, count(*), count(*) filter (where _total), count(*) filter (where _note) from {}").format(
            sql.SQL("count(distinct _row_number)" if contract.unpivot else "count(*)"), t)).fetchone()
    result = TypedTable(rows=rows, empty_rows=landed_rows - source_rows)
    grand_row = None
    if totals:
        rule = contract.totals_rows
        labels = sql.SQL("concat_ws(' ', {})").format(sql.SQL(", ").join(sql.Identifier(c) for c in rule.columns))
        found = conn.execute(sql.SQL("select distinct _row_number, {} from {} where _total order by 1").format(
            labels, t)).fetchall()
        grand = [r for r, label in found if rule.grand_total and re.search(rule.grand_total, label or "", re.I)]
        grand_row = (grand or [r for r, _ in found])[-1] if (grand or not rule.grand_total) else None
        result.totals = [{"row": r, "line": r + match.header_line, "label": label} for r, label in found]
    below = sql.SQL("not _total and (_row_number > %(grand)s or (_note and _row_number > "
                    "(select max(_row_number) from {t} where not _note and not _total "
                    "and _row_number < coalesce(%(grand)s, 9e18))))").format(t=t)
    footer_rows = [r for (r,) in conn.execute(sql.SQL("select distinct _row_number from {} where {} order by 1").format(
        t, below), {"grand": grand_row}).fetchall()] if (notes or grand_row is not None) else []
    if footer_rows:
        texts = conn.execute(sql.SQL("select _row_number, concat_ws(' ', variadic array[{}]) from {} "
                                     "where _row_number = any(%s) order by 1 limit {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in landed_columns(contract, match)), table.ident,
            sql.Literal(FOOTER_NOTES_SHOWN)), (footer_rows,)).fetchall()
        result.footer = [(row, text.strip()) for row, text in texts]
        if len(footer_rows) > FOOTER_NOTES_SHOWN:
            result.footer.append((footer_rows[FOOTER_NOTES_SHOWN], f"... and {len(footer_rows) - FOOTER_NOTES_SHOWN} "
                                  "more rows below the data"))
    if totals:
        result.problems = reconcile(conn, t, contract, match, result.totals, grand_row, footer_rows)
    if footer_rows and not contract.unpivot and contract.money_columns:
        found, problems = unlabelled_totals(conn, t, contract, match, footer_rows)
        result.totals += found
        result.problems += problems
        shown = {f["row"] for f in found}
        result.footer = [(row, text) for row, text in result.footer if row not in shown]
    if footer_rows or totals:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("delete from {} where _total or _row_number = any(%s)").format(t), (footer_rows,))
            result.rows -= cur.rowcount
    return result


def unlabelled_totals(conn: psycopg.Connection, typed: sql.Composable, contract: Contract, match: HeaderMatch,
                       footer_rows: list[int]) -> tuple[list[dict], list[str]]:
    """Rows below the data holding nothing but an amount: a total with no label. Each must equal the
    sum of the lines above it (recorded as a totals row, reconciled), else the file is refused naming
    both figures - never set aside as a note in silence (it may be a payment whose other cells were lost)."""
    amounts = contract.money_columns
    others = [c.name for c in contract.stored_columns if c.name not in amounts and c.from_file and c.name in match.targets]
    tolerance = contract.totals_rows.tolerance if contract.totals_rows else 0
    found, problems = [], []
    rows = conn.execute(sql.SQL(
        "select _row_number, {amounts} from {t} where _row_number = any(%s) and num_nonnulls({amounts}) > 0 {empty} "
        "order by 1").format(
            amounts=sql.SQL(", ").join(sql.Identifier(a) for a in amounts), t=typed,
            empty=sql.SQL("and num_nonnulls({}) = 0").format(sql.SQL(", ").join(sql.Identifier(c) for c in others))
            if others else sql.SQL("")), (footer_rows,)).fetchall()
    for row, *values in rows:
        sums = conn.execute(sql.SQL("select {} from {} where not _total and not (_row_number = any(%s)) "
                                    "and _row_number < %s").format(
            sql.SQL(", ").join(sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(a)) for a in amounts), typed),
            (footer_rows, row)).fetchone()
        line = row + match.header_line
        entry = {"row": row, "line": line, "label": "(no label)"}
        for amount, value, total in zip(amounts, values, sums, strict=True):
            if value is None:
                continue
            entry[amount] = str(value)
            if abs(total - value) > tolerance:
                header = match.header_of(amount)
                problems.append(f"line {line} holds only an amount ({header} {value}) - a total with no label? - but "
                                f"the lines above it add up to {total} (difference {total - value}); a total must "
                                "match its lines, and a payment needs its other cells")
        found.append(entry)
    return found, problems


def reconcile(conn: psycopg.Connection, typed: sql.Composable, contract: Contract, match: HeaderMatch,
               totals: list[dict], grand_row: int | None, footer_rows: list[int]) -> list[str]:
    """Add each totals row's amounts to ``totals``; say how the data rows fail to add up to the grand total."""
    rule = contract.totals_rows
    value = contract.unpivot.value_column if contract.unpivot else None
    amounts = [value] if value and contract.column_by_name[value].type != "text" else contract.money_columns
    if not contract.unpivot and amounts:
        sums = dict(((r[0]), r[1:]) for r in conn.execute(sql.SQL(
            "select _row_number, {} from {} where _total").format(
                sql.SQL(", ").join(sql.Identifier(a) for a in amounts), typed)).fetchall())
        for total in totals:
            total.update({a: str(v) if v is not None else None for a, v in zip(amounts, sums[total["row"]], strict=True)})
    if not rule.reconcile or not amounts or grand_row is None:
        return []
    by = sql.SQL("_column_number") if contract.unpivot else sql.SQL("0")
    problems = []
    line = grand_row + match.header_line
    for amount in amounts:
        data = sql.SQL("sum({}) filter (where not _total and not (_row_number = any(%(footer)s)))").format(
            sql.Identifier(amount))
        mismatches = conn.execute(sql.SQL(
            "select {by}, {data}, sum({a}) filter (where _row_number = %(grand)s), "
            "count({a}) filter (where _row_number = %(grand)s) from {t} group by 1 "
            "having coalesce(abs({data} - sum({a}) filter (where _row_number = %(grand)s)), 1e18) > %(tol)s "
            "order by 1").format(by=by, data=data, a=sql.Identifier(amount), t=typed),
            {"footer": footer_rows, "grand": grand_row, "tol": rule.tolerance}).fetchall()
        for group, data_sum, total, present in mismatches[:5]:
            where = f" in column {match.measures.get(f'_measure_{group}', (0, group))[1]!r}" if contract.unpivot else ""
            if not present:
                problems.append(f"the totals row on line {line} has no readable {amount}{where} to check the data against")
            else:
                problems.append(f"the totals row on line {line} says {amount} = {total}{where}, but the data rows "
                                f"add up to {data_sum or 0} (difference {(data_sum or 0) - total})")
        if len(mismatches) > 5:
            problems.append(f"... and {len(mismatches) - 5} more columns that do not add up")
    return problems
