"""The bad-input corpus: every case ends loaded exactly or quarantined with a named reason - never a
crash, a hang or unbounded memory. Cases and expectations: ``make_corpus.py`` / ``expected.yml``."""

from __future__ import annotations

import csv
import io
import resource
import time
from pathlib import Path

import pytest
import yaml

from totalplace import ingest
from totalplace.contracts import Contract
from totalplace.warehouse import connect

HERE = Path(__file__).parent
EXPECTED = yaml.safe_load((HERE / "expected.yml").read_text())
SECONDS = 60
MEMORY_GROWTH_KB = 1_000_000  # 1 GB over the process's peak before the case


def generic_contract(path: Path) -> Contract:
    """Every header column as optional text: the csv-spectrum cases test reading, not rules."""
    header = next(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig").splitlines()[0])))
    return Contract.model_validate({
        "agency": "council", "feed": "corpus_generic", "title": "Corpus (any columns)",
        "owner": {"name": "x", "email": "x@example.org"},
        "columns": [{"name": f"c{i}", "header": h, "required": False} for i, h in enumerate(header)]})


def test_the_corpus_is_the_generators_and_big_enough():
    import make_corpus

    assert len(make_corpus.CASES) >= 60
    assert sorted(EXPECTED) == sorted(p.name for p in (HERE / "files").iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_case(settings, name):
    spec = EXPECTED[name]
    path = HERE / "files" / name
    if spec["feed"].startswith("payments"):
        doc = yaml.safe_load((HERE / "contract.yml").read_text())
        if spec["feed"] == "payments_mac_roman":  # its bytes cannot be told from Windows-1252: the feed says so
            doc["format"] = {"encoding": "mac_roman"}
        if spec["feed"] == "payments_open":  # not person-level: columns it does not know are kept in _extra
            doc["person_identifiers"] = []
            doc["columns"] = [c for c in doc["columns"] if not c.get("identifier")]
        contract = Contract.model_validate(doc)
    else:
        contract = generic_contract(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcome = ingest.ingest_local(settings, contract, path)
    assert time.monotonic() - started < SECONDS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < MEMORY_GROWTH_KB
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select coalesce(report::text, '') || ' ' || coalesce(error, '') "
                              "from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
        raw = conn.execute(f"select count(*) from raw.{contract.key}").fetchone()[0]  # noqa: S608
    assert outcome.status == spec["outcome"], f"{name}: {outcome.status} - {outcome.error}"
    if spec["outcome"] == "published":
        assert outcome.rows == spec["rows"] == raw
        if spec["feed"] == "generic":
            assert_loaded_exactly(settings, contract, path)
        if "amount" in spec:
            with connect(settings.warehouse_url) as conn:
                assert str(conn.execute(f"select amount from raw.{contract.key}").fetchone()[0]) == spec["amount"]  # noqa: S608
        if "paid" in spec:
            with connect(settings.warehouse_url) as conn:
                assert str(conn.execute(f"select paid from raw.{contract.key}").fetchone()[0]) == spec["paid"]  # noqa: S608
    else:
        assert raw == 0
        for words in spec["reason"]:
            assert words in report, f"{name}: {words!r} not in {outcome.error!r}"


def assert_loaded_exactly(settings, contract: Contract, path: Path) -> None:
    """The cells in raw are the cells Python's csv module reads (trimmed; empty as NULL)."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))[1:]
    expected = [[(c.strip() or None) for c in r] for r in rows if any(c.strip() for c in r)]
    columns = ", ".join(c.name for c in contract.columns)
    with connect(settings.warehouse_url) as conn:
        loaded = [list(r) for r in conn.execute(
            f"select {columns} from raw.{contract.key} order by _row_number")]  # noqa: S608
    assert loaded == expected
