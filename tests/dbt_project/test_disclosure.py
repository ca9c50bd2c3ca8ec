"""Disclosure control on crafted tables: no published count of 1-7, and no withheld cell that the
published totals give away - checked cell by cell on hand-made cases and on random tables, with the
project's own macros compiled by dbt and run in PostgreSQL."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

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


def _published(settings, table: str, columns: str, rows: list[tuple], sql_text: str) -> list[tuple]:
    """Load ``rows`` into ``scratch.<table> (<columns>)`` and return what the compiled macro publishes."""
    with connect(settings.warehouse_url) as conn:
        conn.execute("create schema if not exists scratch")
        conn.execute(f"drop table if exists scratch.{table}")
        conn.execute(f"create table scratch.{table} ({columns})")
        with conn.cursor() as cur:
            cur.executemany(f"insert into scratch.{table} values ({', '.join(['%s'] * len(rows[0]))})", rows)
        keys = ", ".join(c.split()[0] for c in columns.split(", ") if c.split()[0] not in ("n", "w"))
        return conn.execute(f"select {keys}, published from ({sql_text}) as q").fetchall()


def run(settings, sql_text: str, tables: list[dict[tuple[str, str], int]]) -> list[dict[tuple[str, str], int | None]]:
    rows = _published(settings, "cells", "t int, r text, c text, n bigint",
                      [(t, r, c, n) for t, table in enumerate(tables) for (r, c), n in table.items()], sql_text)
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


CUBE = ("select *, published_count as published from ({{ secondary_suppression('scratch.cubes', 'n', "
        "['r', 'c', 'a'], ['t'], rounds=6, withhold='w') }}) as s")


def with_all_totals(cells: dict[tuple, int]) -> dict[tuple, int]:
    """A table of any number of dimensions with every total ('all' in any of them) added."""
    dims = len(next(iter(cells)))
    values = [sorted({k[i] for k in cells}) + ["all"] for i in range(dims)]
    return {key: sum(n for k, n in cells.items() if all(v in ("all", kv) for v, kv in zip(key, k, strict=True)))
            for key in itertools.product(*values)}


def test_three_dimensions_with_cells_withheld_for_another_table(settings):
    """As the cohort marts' shared decision uses it: three dimensions (district x agencies known to x
    agency) and cells withheld whatever their count (a 0 among a handful of people): every line along
    every dimension has no withheld cell or at least two, adding up to more than 7 under a published
    total, after the rounds the model runs."""
    sql_text = compile_inline(settings, settings.warehouse_url, CUBE)
    rng = random.Random(11)
    cubes, flagged = [], []
    for _ in range(40):
        cube = with_all_totals({(r, c, a): rng.choice([0, 0, 1, 3, 6, 8, 12, 30, 90])
                                for r, c, a in itertools.product("abcd", "xy", "pqr")})
        # a cell may be withheld for another reason only where no wider total is 0 (that would give it away)
        eligible = [k for k in cube if all(cube[k[:i] + ("all",) + k[i + 1:]] > 0 for i in range(3))]
        cubes.append(cube)
        flagged.append(set(rng.sample(eligible, min(3, len(eligible)))))
    rows = _published(settings, "cubes", "t int, r text, c text, a text, n bigint, w boolean",
                      [(t, *k, n, k in flagged[t]) for t, cube in enumerate(cubes) for k, n in cube.items()], sql_text)
    published: list[dict] = [{} for _ in cubes]
    for t, r, c, a, value in rows:
        published[t][(r, c, a)] = value
    for t, cube in enumerate(cubes):
        assert all(published[t][k] is None for k in flagged[t])
        for key, value in published[t].items():
            assert value is None or not 1 <= value <= 7, f"{key}: {value} published"
        for i in range(3):
            lines = defaultdict(list)
            for key in cube:
                lines[key[:i] + key[i + 1:]].append(key)
            for line in lines.values():
                withheld = [k for k in line if published[t][k] is None]
                assert len(withheld) != 1, f"table {t}: {withheld[0]} can be recovered from its line {sorted(line)}"
                # under a published total, the withheld cells' sum is published too: never 0-7
                if withheld and all(k[i] != "all" for k in withheld):
                    assert sum(cube[k] for k in withheld) > 7, f"table {t}: {withheld} add up to a small count"
    assert sum(v is None for p in published for v in p.values()) > 500
