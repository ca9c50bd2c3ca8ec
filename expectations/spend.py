"""The gate's money check: a wide table's spend adds up to the file's own total, row by row.

Which columns are spend, the file's own total or money that is not spend is the contract's
``spend`` block (totalplace.contracts.Spend). The check reads the file's cells - the typed landing
table at intake, the published raw rows for the ledger's control total - and never the dbt models,
so a model that loses a service line cannot agree with it: the warehouse audit
(publish_warehouse.audit) compares fct_spend per file with the control total recorded here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psycopg import sql

from totalplace.contracts import Contract
from totalplace.reports import Problem

EXAMPLES = 10


def _rows_that_count(contract: Contract) -> tuple[sql.Composable, dict[str, Any]]:
    """SQL condition on the rows that are spend (``spend.rows_where``), with its parameters."""
    tests, params = [sql.SQL("true")], {}
    for i, (name, values) in enumerate(contract.spend.rows_where.items()):
        tests.append(sql.SQL("{} = any(%(w{})s)").format(sql.Identifier(name), sql.SQL(str(i))))
        params[f"w{i}"] = list(values)
    return sql.SQL(" and ").join(tests), params


def spend_columns(conn, relation: sql.Composable, contract: Contract, file_id: int | None = None) -> list[dict]:
    """Each column of the rows that count: its number, header, role (None: no rule), reason and total
    in the file's units."""
    key, value = contract.unpivot.key_column, contract.unpivot.value_column
    where, params = _rows_that_count(contract)
    if file_id is not None:
        where = sql.SQL("{} and _file_id = %(file_id)s").format(where)
        params["file_id"] = file_id
    found = conn.execute(sql.SQL(
        "select _column_number, min({k}), coalesce(sum({v}), 0), count({v}) from {t} where {w} group by 1 order by 1"
    ).format(
        k=sql.Identifier(key), v=sql.Identifier(value), t=relation, w=where), params).fetchall()
    out = []
    for number, header, total, cells in found:
        rule = contract.spend.rule_for(header or "")
        out.append({"column": number, "header": header, "role": rule.role if rule else None,
                    "reason": rule.reason if rule else "", "total": total, "cells": cells})
    return out


def spend_problems(conn, relation: sql.Composable, contract: Contract, header_line: int) -> list[Problem]:
    """What stops a file's spend being counted: a money column no rule names, or a row whose spend
    does not add up to the file's own total for it (beyond the publisher's rounding)."""
    columns = spend_columns(conn, relation, contract)
    where_to = f"feeds/{contract.agency}/{contract.feed}.yml (spend.columns)"
    problems = [Problem(
        check="spend_columns", column=c["header"],
        rule=f"column {c['header']!r} holds money the feed's contract neither counts as spend nor names as not "
             f"spend with a reason, so its total cannot be accounted for - the data team must add a rule to "
             f"{where_to} before this file can be published") for c in columns if c["role"] is None]
    spend = [c["column"] for c in columns if c["role"] == "spend"]
    own = [c["column"] for c in columns if c["role"] == "own_total"]
    if problems or not own:
        return problems
    where, params = _rows_that_count(contract)
    value, half = sql.Identifier(contract.unpivot.value_column), Decimal(str(contract.spend.rounding)) / 2
    labels = contract.totals_rows.columns if contract.totals_rows else []
    label = sql.SQL("concat_ws(' ', {})").format(sql.SQL(", ").join(sql.SQL("min({})").format(sql.Identifier(c))
                                                                    for c in labels)) if labels else sql.SQL("''")
    failing = conn.execute(sql.SQL(
        "select _row_number, {label}, coalesce(sum({v}) filter (where _column_number = any(%(spend)s)), 0), "
        "sum({v}) filter (where _column_number = any(%(own)s)), "
        "count({v}) filter (where _column_number = any(%(spend)s)) from {t} where {w} group by 1 "
        "having abs(coalesce(sum({v}) filter (where _column_number = any(%(spend)s)), 0) "
        "- sum({v}) filter (where _column_number = any(%(own)s))) "
        "> (count({v}) filter (where _column_number = any(%(spend)s)) + 1) * %(half)s "
        "order by 1").format(label=label, v=value, t=relation, w=where),
        {**params, "spend": spend, "own": own, "half": half}).fetchall()
    if not failing:
        return []
    total_header = next(c["header"] for c in columns if c["role"] == "own_total")
    examples = [{"line": row + header_line, "row": text, "spend columns add up to": str(parts),
                 "the file's own total": str(total), "difference": str(total - parts)}
                for row, text, parts, total, _ in failing[:EXAMPLES]]
    return [Problem(
        check="spend_reconcile", column=total_header, rows_failing=len(failing), examples=examples,
        rule=f"each row's spend ({len(spend)} columns the contract counts as spend) must add up to the file's own "
             f"total {total_header!r} (within rounding): a spend column is missing from the file or from the "
             f"contract's rules ({where_to})")]


def control_total(conn, relation: sql.Composable, contract: Contract, file_id: int) -> dict[str, Any]:
    """The published file's spend in pounds; its own total where it gives one, with the difference
    the publisher's rounding allows between them; and every money column with its role, reason and
    total - for the ledger (the audit's control total, dq_money_not_spend)."""
    columns = spend_columns(conn, relation, contract, file_id)
    unit = contract.spend.unit
    spend = sum((c["total"] for c in columns if c["role"] == "spend"), Decimal(0)) * unit
    own = [c for c in columns if c["role"] == "own_total"]
    cells = sum(c["cells"] for c in columns if c["role"] in ("spend", "own_total"))
    return {"spend": str(spend),
            "own_total": str(sum((c["total"] for c in own), Decimal(0)) * unit) if own else None,
            "rounding_allows": str(Decimal(str(contract.spend.rounding)) / 2 * cells * unit), "unit": unit,
            "columns": [{**c, "total": str(c["total"] * unit)} for c in columns]}
