"""Incremental models keyed by file: each published file is built once, files no longer published are
forgotten, and a changed mapping rebuilds every line - checked on real dbt runs."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES

from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.dbt import run_dbt
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow

SPEND = ["devon_DCCSpendingOver500_202504.csv", "oxford_expenditure-over-500-jul-sep-2014.csv"]


def _build(s) -> int:
    """Build int_spend_lines and what it reads; returns the rows its incremental step inserted."""
    result = run_dbt(s, s.warehouse_url, "build", "--select", "+int_spend_lines", capture=True)
    assert result.returncode == 0, result.stdout[-3000:]
    line = next(x for x in result.stdout.splitlines() if "int_spend_lines" in x and " OK " in x)
    inserted = re.search(r"(?:INSERT 0|SELECT) (\d+)", line)
    assert inserted, line
    return int(inserted.group(1))


def _lines(s) -> dict[int, tuple[int, str]]:
    with connect(s.warehouse_url) as conn:
        rows = conn.execute("select file_id, count(*), sum(amount)::text, count(distinct built_version) "
                            "from intermediate.int_spend_lines group by 1").fetchall()
    assert all(versions == 1 for *_, versions in rows)
    return {f: (n, total) for f, n, total, _ in rows}


def test_spend_lines_are_built_once_per_file_and_rebuilt_when_a_mapping_changes(reference_loaded):
    s = reference_loaded
    contract = get_contract(s.feeds_dir, "council", "spend_over_500")
    ids = [ingest.ingest_local(s, contract, FIXTURES / "council" / name).file_id for name in SPEND]
    with connect(s.warehouse_url) as conn:
        published = dict(conn.execute("select _file_id, count(*) from raw.council__spend_over_500 group by 1"))
    assert set(published) == set(ids)

    built = _build(s)  # first build: every line, from every published file
    lines = _lines(s)
    assert {f: n for f, (n, _) in lines.items() if f in ids} == published
    assert built == sum(n for n, _ in lines.values())

    assert _build(s) == 0  # nothing new published: nothing themed again
    assert _lines(s) == lines

    # lines built with another version of the theme mapping are rebuilt, and only those
    with connect(s.warehouse_url) as conn:
        conn.execute("update intermediate.int_spend_lines set built_version = 'an older theme_map' "
                     "where file_id = %s", (ids[0],))
    assert _build(s) == published[ids[0]]
    assert _lines(s) == lines

    # a file no longer published (its partition detached, as a superseding re-send does) is forgotten
    with connect(s.warehouse_url) as conn:
        conn.execute(f"alter table raw.council__spend_over_500 detach partition raw.council__spend_over_500__f{ids[1]}")
    assert _build(s) == 0
    assert ids[1] not in _lines(s) and _lines(s)[ids[0]] == lines[ids[0]]
