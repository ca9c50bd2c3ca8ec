"""Publish: a file that passed the gate becomes its partition of ``raw``, in one transaction.

Stage 5 of ingest. The typed table the gate checked is attached as it is - what was checked is what
is published, and no row moves. In the same transaction the ledger says ``published``, the file's
control totals are recorded, and an earlier submission it corrects whole is superseded (moved to
``history``). A file that failed the gate is quarantined instead.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql

from expectations.spend import control_total
from totalplace.contracts import Contract
from totalplace.ingest import checkpoints, ledger
from totalplace.ingest.kept import discard_kept
from totalplace.ingest.outbox import send_report
from totalplace.ingest.outcome import Outcome
from totalplace.ingest.quarantine import quarantine
from totalplace.ingest.tables import LandingTable, drop_landing, landing_table, raw_table
from totalplace.reports import Problem, build_report
from totalplace.settings import Settings
from totalplace.warehouse import connect, pipeline_url, with_lock_retries

log = logging.getLogger(__name__)


def publish(settings: Settings, contract: Contract, file_id: int, *, notify: bool = True) -> Outcome:
    """Publish a file that passed the gate, or quarantine one that did not - one transaction each."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
    if entry is None:
        raise LookupError(f"no file {file_id} in the ledger")
    if entry.status != "validating":
        return Outcome(file_id, entry.name, entry.status, entry.rows, entry.error)
    gate = (entry.report or {}).get("gate")
    if gate is None:
        raise RuntimeError(f"file {file_id} has not been through the gate yet; run validate first")
    table = landing_table(contract, file_id)
    warnings = (entry.report or {}).get("warnings", [])
    if not gate["passed"]:
        problems = [Problem(check=p["check"], rule=p["rule"], column=p["contract_column"], header=p["column"],
                            rows_failing=p["rows_failing"], examples=p["examples"]) for p in gate["problems"]]
        return quarantine(settings, contract, url, entry, table, problems, rows=entry.rows, suite=gate["suite"],
                           notify=notify)
    def publish_file(conn) -> tuple[int, dict[str, Any]]:
        submission = submission_of(conn, contract, table)
        rows = publish_rows(conn, contract, table, file_id)
        if rows != entry.rows:
            raise RuntimeError(f"file {file_id}: {rows} rows to publish but {entry.rows} were landed")
        checkpoints.reached("publish", conn, url)
        replaced = supersede(conn, contract, entry, submission)
        notes = warnings
        if replaced:
            notes = [*warnings, "this file replaces " + ", ".join(
                f"file {e.file_id} ({e.name}, {e.rows} rows)" for e in replaced)
                + " - a corrected re-submission of the same " + ", ".join(contract.supersedes_on or [])]
        report = build_report(outcome="published", agency=contract.agency, feed=contract.feed, name=entry.name,
                              file_id=file_id, sha256=entry.sha256, rows=rows, suite=gate["suite"], warnings=notes)
        if submission is not None:
            report["submission"] = submission
        report["control_totals"] = control_totals(conn, contract, file_id)
        if contract.publisher_column:
            ledger.set_publisher(conn, file_id, contract.key, contract.publisher_column)
        if contract.spend is not None:
            report["spend_control"] = control_total(conn, sql.Identifier("raw", contract.key), contract, file_id)
        if (entry.report or {}).get("file_totals"):
            report["file_totals"] = entry.report["file_totals"]
        ledger.transition(conn, file_id, "published", rows=rows, error=None, report=report)
        drop_landing(conn, table)
        return rows, report

    try:
        # superseding detaches a partition of raw (ACCESS EXCLUSIVE): never queue partners' reads behind it
        rows, report = with_lock_retries(url, publish_file, what=f"publishing file {file_id}", settings=settings)
    except psycopg.errors.UniqueViolation:
        # the same content was published by a concurrent run between our fetch and now
        with connect(url) as conn:
            previous = ledger.find_previous(conn, contract.agency, contract.feed, entry.sha256)
            note = ledger.duplicate_note(previous, entry.sent_by) if previous else None
            ledger.transition(conn, file_id, "duplicate", rows=0, error=note,
                              duplicate_of=previous.file_id if previous else None)
            drop_landing(conn, table)
        report = build_report(outcome="duplicate", agency=contract.agency, feed=contract.feed, name=entry.name,
                              file_id=file_id, sha256=entry.sha256, rows=0, note=note)
        if contract.person_identifiers:
            discard_kept(settings, contract, file_id, entry.name)
        if notify:
            send_report(settings, entry.account, contract.feed, entry.name, report)
        return Outcome(file_id, entry.name, "duplicate", 0, note)
    if contract.person_identifiers:
        discard_kept(settings, contract, file_id, entry.name)
    if notify:
        send_report(settings, entry.account, contract.feed, entry.name, report)
    log.info("published file %s (%s): %d rows into raw.%s", file_id, entry.name, rows, contract.key)
    return Outcome(file_id, entry.name, "published", rows, None)


def publish_rows(conn: psycopg.Connection, contract: Contract, table: LandingTable, file_id: int) -> int:
    """Make a gated file's typed table its partition of raw; returns the number of rows."""
    helpers = [c.invalid_column for c in contract.columns if c.type != "text"]
    partition = f"{contract.key}__f{file_id}"
    if helpers:
        conn.execute(sql.SQL("alter table {} {}").format(
            table.typed, sql.SQL(", ").join(sql.SQL("drop column {}").format(sql.Identifier(h)) for h in helpers)))
    conn.execute(sql.SQL("alter table {} reset (autovacuum_enabled)").format(table.typed))
    if contract.person_identifiers:  # unlogged while it was checked (landing.create_typed_table)
        conn.execute(sql.SQL("alter table {} set logged").format(table.typed))
    conn.execute(sql.SQL("alter table {} set schema raw").format(table.typed))
    conn.execute(sql.SQL("alter table {} rename to {}").format(
        sql.Identifier("raw", table.typed_name), sql.Identifier(partition)))
    # made in landing, so raw's default privileges did not apply: the same rights as raw's own tables
    conn.execute(sql.SQL("grant select on {} to transformer").format(sql.Identifier("raw", partition)))
    # the partition constraint is proven by this CHECK instead of a scan at ATTACH time
    conn.execute(sql.SQL("alter table {} add constraint {} check (_file_id = {})").format(
        sql.Identifier("raw", partition), sql.Identifier(f"{partition}_file"), sql.Literal(file_id)))
    conn.execute(sql.SQL("alter table {} attach partition {} for values in ({})").format(
        raw_table(contract), sql.Identifier("raw", partition), sql.Literal(file_id)))
    rows = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("raw", partition))).fetchone()[0]
    conn.execute(sql.SQL("analyze {}").format(sql.Identifier("raw", partition)))
    return rows


def submission_of(conn, contract: Contract, table: LandingTable) -> list[list[str]] | None:
    """What the file is a submission of: the distinct values of its ``supersedes_on`` columns
    (dates by month), from the typed table about to be published."""
    if not contract.supersedes_on:
        return None
    # distinct values first, formatted in Python: formatting a million dates in SQL costs more than the scan
    rows = conn.execute(sql.SQL("select distinct {} from {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in contract.supersedes_on), table.typed)).fetchall()
    dated = [contract.column_by_name[c].type in ("date", "timestamp", "month") for c in contract.supersedes_on]
    formatted = {tuple(f"{v:%Y-%m}" if d and v is not None else (None if v is None else str(v))
                       for v, d in zip(row, dated, strict=True)) for row in rows}
    return [list(r) for r in sorted(formatted, key=lambda r: tuple("" if v is None else v for v in r))]


def supersede(conn, contract: Contract, entry: ledger.LedgerEntry,
              submission: list[list[str]] | None) -> list[ledger.LedgerEntry]:
    """Earlier published files of the same sender whose submission this file covers whole become
    ``superseded``: their partitions leave raw for ``history`` - in the publishing transaction, so
    readers see the old rows or the new ones, never both or neither."""
    if not submission:
        return []
    covered = {tuple(r) for r in submission}
    earlier = [e for e in ledger.published_for_feed(conn, contract.agency, contract.feed, entry.sent_by)
               # the same bytes again are a duplicate (refused below by the ledger's unique index), not a correction
               if e.file_id != entry.file_id and e.sha256 != entry.sha256 and (e.report or {}).get("submission")
               and {tuple(r) for r in e.report["submission"]} <= covered]
    for old in earlier:
        partition = f"{contract.key}__f{old.file_id}"
        conn.execute(sql.SQL("alter table {} detach partition {}").format(
            sql.Identifier("raw", contract.key), sql.Identifier("raw", partition)))
        conn.execute(sql.SQL("alter table {} set schema history").format(sql.Identifier("raw", partition)))
        ledger.transition(conn, old.file_id, "superseded", error=f"superseded by file {entry.file_id} ({entry.name})",
                          superseded_by=entry.file_id)
    return earlier


def control_totals(conn, contract: Contract, file_id: int) -> dict[str, str]:
    """Sum of every money column of a published file, recorded in the ledger for reconciliation."""
    money = contract.money_columns
    if not money:
        return {}
    sums = conn.execute(sql.SQL("select {} from {} where _file_id = %s").format(
        sql.SQL(", ").join(sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(m)) for m in money),
        sql.Identifier("raw", contract.key)), (file_id,)).fetchone()
    return {name: str(total) for name, total in zip(money, sums, strict=True)}
