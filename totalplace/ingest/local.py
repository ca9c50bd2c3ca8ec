"""Files already on this machine: the platform's reference data, ``totalplace validate`` and the benchmark.

The same stages as an SFTP drop, in the same order - only the receiving differs (no inbox, no outbox).
``check_file`` is the gate's verdict on a file without recording or publishing anything.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.xlsx import locate_in_sheets
from expectations.gate import run_gate
from totalplace.contracts import Contract
from totalplace.ingest import ledger
from totalplace.ingest.gate import validate
from totalplace.ingest.kept import discard_kept, sha256_of
from totalplace.ingest.land import land, load
from totalplace.ingest.outcome import Outcome
from totalplace.ingest.publish import publish
from totalplace.ingest.read import tabular_source, workbook_csv
from totalplace.ingest.receive import local_sender, record_and_keep, sharing_for
from totalplace.ingest.tables import LandingTable, drop_landing, prepare
from totalplace.reports import Rejected, build_report
from totalplace.settings import Settings
from totalplace.warehouse import connect


def ingest_local(settings: Settings, contract: Contract, path: Path, *, skip_if_published: bool = False,
                 notify: bool = False, timings: dict[str, float] | None = None,
                 account: str | None = None) -> Outcome | None:
    """Load, gate and publish a local file through the same steps as an SFTP drop.

    Used for the platform's own reference data and by the benchmark (which passes ``timings`` to
    get seconds per step). With ``skip_if_published`` a file whose content is already published is
    skipped without a ledger entry (returns None). The file is recorded as sent by ``account``'s body -
    by default the feed's first body in partners.yml, or for a feed no body sends (one made up on the
    spot) its publisher - with no account (no outbox to answer to).
    """
    sent_by = local_sender(settings, contract, account)
    clock = Clock(timings)
    url = prepare(settings, contract)
    with clock("hash"):
        sha256, size = sha256_of(path)
    with clock("record"), connect(url) as conn:
        previous = ledger.find_previous(conn, contract.agency, contract.feed, sha256)
        if skip_if_published and previous is not None and previous.status == "published":
            return None
        entry = record_and_keep(conn, settings, contract, path, path.name, sha256, size, move=False,
                                sent_by=sent_by)
    if entry.status == "duplicate":
        if contract.person_identifiers:
            discard_kept(settings, contract, entry.file_id, entry.name)
        return Outcome(entry.file_id, entry.name, "duplicate", 0, entry.error)
    with clock("load (COPY + typed table)"):
        status = load(settings, contract, entry.file_id, notify=notify)
    if status == "validating":
        with clock("gate (GX)"):
            validate(settings, contract, entry.file_id)
    with clock("publish"):
        return publish(settings, contract, entry.file_id, notify=notify)


class Clock:
    """Context manager factory adding elapsed seconds per step into a dict (or doing nothing)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - start


def check_file(settings: Settings, contract: Contract, path: Path, account: str | None = None) -> dict[str, Any]:
    """The gate's verdict on a local file without recording or publishing anything - read as the body of
    ``account`` would be by a real run (its agreement, its mapping, its name as the default sender)."""
    url = prepare(settings, contract)
    table = LandingTable("landing", f"{contract.key}__check_{os.getpid()}")
    rows: int | None = None
    with tempfile.TemporaryDirectory() as workdir:
        sheets = workbook_csv(path, Path(workdir))  # a workbook's rows are named by sheet and row
        try:
            with connect(url) as conn:
                landed = land(conn, contract, table, tabular_source(path, contract, Path(workdir)), 0,
                              sharing_for(settings, contract, local_sender(settings, contract, account)))
            rows = landed.rows
            result = run_gate(url, contract, table.schema, table.typed_name, landed.match)
            outcome = "passed" if result.passed else "failed"
            return build_report(outcome=outcome, agency=contract.agency, feed=contract.feed, name=path.name,
                                file_id=None, sha256=None, rows=rows, problems=locate_in_sheets(result.problems, sheets),
                                suite=result.suite, warnings=landed.notes)
        except Rejected as rejected:
            return build_report(outcome="failed", agency=contract.agency, feed=contract.feed, name=path.name,
                                file_id=None, sha256=None, rows=rows,
                                problems=locate_in_sheets(rejected.problems, sheets))
        finally:
            with connect(url) as conn:
                drop_landing(conn, table)
