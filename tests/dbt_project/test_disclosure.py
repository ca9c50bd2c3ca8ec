"""Disclosure control on crafted tables: no published count of 1-7, and no withheld cell that the
published totals give away - checked cell by cell on hand-made cases and on random tables, with the
project's own macros compiled by dbt and run in PostgreSQL."""

from __future__ import annotations

import itertools
import random

import pytest

from totalplace.dbt import compile_inline
from totalplace.warehouse import connect

ROWS, COLS = ["a", "b", "c", "d"], ["x", "y", "z"]
MACRO = "select *, published_count as published from ({{ secondary_suppression('scratch.cells', 'n', ['r', 'c'], ['t']) }}) as s"


_compiled: dict[str, str] = {}


@pytest.fixture
def suppress_sql(settings):
    """The macros compiled once per test process (the SQL does not depend on the database)."""
    if "sql" not in _compiled:
        _compiled["sql"] = compile_inline(settings, settings.warehouse_url, MACRO)
    return _compiled["sql"]


def with_totals(cells: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """The table as a mart publishes it: every cell plus row, column and grand totals ('all')."""
    out = dict(cells)
    for r in {r for r, _ in cells}:
        out[(r, "all")] = sum(n for (rr, _), n in cells.items() if rr == r)
    for c in {c for _, c in cells}:
        out[("all", c)] = sum(n for (_, cc), n in cells.items() if cc == c)
    out[("all", "all")] = sum(cells.values())
    return out


def run(settings, sql_text: str, tables: list[dict[tuple[str, str], int]]) -> list[dict[tuple[str, str], int | None]]:
    with connect(settings.warehouse_url) as conn:
        conn.execute("create schema if not exists scratch")
        conn.execute("drop table if exists scratch.cells")
        conn.execute("create table scratch.cells (t int, r text, c text, n bigint)")
        with conn.cursor() as cur:
            cur.executemany("insert into scratch.cells values (%s, %s, %s, %s)",
                            [(t, r, c, n) for t, table in enumerate(tables) for (r, c), n in table.items()])
        rows = conn.execute(f"select t, r, c, published from ({sql_text}) as q").fetchall()
    out: list[dict] = [{} for _ in tables]
    for t, r, c, published in rows:
        out[t][(r, c)] = published
    return out


def assert_safe(exact: dict, published: dict) -> None:
    for key, value in published.items():
        assert value is None or not 1 <= value <= 7, f"{key}: {value} published"
        assert value is None or value % 5 == 0, f"{key}: {value} not rounded"
    # every line of cells adding up to a published total has no withheld cell, or at least two
    rows = {r for r, _ in exact}
    cols = {c for _, c in exact}
    for line in [[(r, c) for c in cols] for r in rows] + [[(r, c) for r in rows] for c in cols]:
        withheld = [k for k in line if published[k] is None]
        assert len(withheld) != 1, f"{withheld[0]} can be recovered from its line {sorted(line)}"


def test_a_small_cell_takes_a_partner_in_its_row_and_its_column(settings, suppress_sql):
    exact = with_totals({("a", "x"): 3, ("a", "y"): 50, ("b", "x"): 40, ("b", "y"): 60})
    [published] = run(settings, suppress_sql, [exact])
    assert_safe(exact, published)
    assert {k for k, v in published.items() if v is None} == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    assert published[("all", "all")] == 155 and published[("a", "all")] == 55  # totals stay published


def test_when_the_only_partner_is_the_total_the_total_is_withheld(settings, suppress_sql):
    exact = with_totals({("a", "x"): 5, ("a", "y"): 0, ("b", "x"): 30, ("b", "y"): 0})
    [published] = run(settings, suppress_sql, [exact])
    assert_safe(exact, published)
    assert published[("a", "x")] is None and published[("a", "y")] == 0
    assert published[("a", "all")] is None  # 5 + 0 + 0: the row total would give the 5 away


def test_no_table_of_many_random_ones_leaks_a_small_count(settings, suppress_sql):
    rng = random.Random(7)
    tables = []
    for _ in range(60):
        cells = {(r, c): rng.choice([0, 0, 1, 2, 3, 5, 7, 8, 9, 12, 20, 35, 80, 150])
                 for r, c in itertools.product(ROWS, COLS)}
        tables.append(with_totals(cells))
    results = run(settings, suppress_sql, tables)
    for exact, published in zip(tables, results, strict=True):
        assert_safe(exact, published)
    assert sum(v is None for p in results for v in p.values()) > 100  # the cases really had small counts
