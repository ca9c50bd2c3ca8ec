"""Quarantine: a rejected file's outcome, its rows kept aside for audit, its report sent back.

A file is quarantined whole, with a report naming row, column and problem; nothing of it reaches
``raw``. A person-level file's rows are kept redacted and its copy deleted (the sender has it).
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from connectors.xlsx import locate_in_sheets
from totalplace.access import protect
from totalplace.contracts import Contract
from totalplace.ingest import ledger
from totalplace.ingest.kept import discard_kept, local_copy, local_path
from totalplace.ingest.outbox import send_report
from totalplace.ingest.outcome import Outcome
from totalplace.ingest.read import tabular_source
from totalplace.ingest.tables import LandingTable
from totalplace.reports import Problem, build_report, summarise, withhold_values
from totalplace.settings import Settings
from totalplace.warehouse import connect

log = logging.getLogger(__name__)


def quarantine(settings: Settings, contract: Contract, url: str, entry: ledger.LedgerEntry, table: LandingTable,
                problems: list[Problem], *, rows: int | None, suite: str | None = None,
                notify: bool = True, keep: bool = False) -> Outcome:
    problems = _in_sheets(settings, contract, entry, problems)
    problems = withhold_values(problems, person_level=bool(contract.person_identifiers))
    # a rejected file of people, or one holding identifiers its contract does not declare, is not kept:
    # the sender has it, and a kept copy would be person-level data in clear on the platform's disk -
    # unless the fault may be the platform's (``keep``): then the copy is what it will be run again from
    discard = not keep and (bool(contract.person_identifiers)
                            or any(p.check == "undeclared_identifier" for p in problems))
    warnings = (entry.report or {}).get("warnings", [])
    if discard:
        warnings = [*warnings, "this file was not kept (it holds, or may hold, person identifiers): send it again "
                    "once it is fixed - it cannot be run again from the platform's copy"]
    report = build_report(outcome="quarantined", agency=contract.agency, feed=contract.feed, name=entry.name,
                          file_id=entry.file_id, sha256=entry.sha256, rows=rows, problems=problems, suite=suite,
                          warnings=warnings)
    report["kept"] = not discard
    error = summarise(report["problems"])
    with connect(url) as conn:
        exists = conn.execute("select to_regclass(%s)", (f"landing.{table.name}",)).fetchone()[0]
        if exists:
            quarantine_rows(conn, table, contract, entry.sent_by)
        ledger.transition(conn, entry.file_id, "quarantined", rows=rows, error=error, report=report)
    if discard:  # after the commit: a crash in between leaves bytes that retention deletes, never a lost outcome
        discard_kept(settings, contract, entry.file_id, entry.name)
    if notify:
        send_report(settings, entry.account, contract.feed, entry.name, report)
    from totalplace.alerts import alert

    alert(settings, "file_quarantined", f"{entry.name} ({contract.agency}/{contract.feed}, file {entry.file_id}) "
          f"quarantined: {error}", feed=f"{contract.agency}/{contract.feed}", file_id=entry.file_id,
          sent_by=entry.sent_by)
    return Outcome(entry.file_id, entry.name, "quarantined", rows, error)


def _in_sheets(settings: Settings, contract: Contract, entry: ledger.LedgerEntry,
               problems: list[Problem]) -> list[Problem]:
    """A workbook's rows named by sheet and row, as the sender sees them in Excel. Where the rows lie
    is written when the workbook is read as CSV - on the worker that landed it, which need not be this
    one: the file is taken from the store and read again here when it was not read on this machine."""
    if not any(e.get("line") is not None for p in problems for e in p.examples):
        return problems
    here = local_path(settings, contract, entry.file_id, entry.name)
    if not here.exists() and not entry.name.lower().endswith(WORKBOOK_SUFFIXES):
        return problems  # not worth fetching a big CSV from the store to find it has no sheets
    try:
        source = tabular_source(local_copy(settings, contract, entry.file_id, entry.name), contract)
    except Exception:  # noqa: BLE001 - the report goes out with lines instead of sheet rows, never not at all
        log.warning("could not name the sheet rows of file %s", entry.file_id, exc_info=True)
        return problems
    return locate_in_sheets(problems, source)


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")

REDACTED = "[redacted]"


def quarantine_rows(conn: psycopg.Connection, table: LandingTable, contract: Contract,
                    sent_by: str | None = None) -> None:
    """Keep a rejected file's rows in ``quarantine`` for audit: as received - or, for a person-level
    feed, redacted: its pseudonyms (made before PostgreSQL saw a byte) stay, every other filled cell
    becomes ``[redacted]``, so nothing of what the sender typed (an NHS number in a cost column, a
    name in a note) is kept in clear. Its report names row and column, which is what a sender fixes."""
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    target = sql.Identifier("quarantine", table.name)
    conn.execute(sql.SQL("drop table if exists {}").format(target))
    if not contract.person_identifiers:
        conn.execute(sql.SQL("alter table {} set schema quarantine").format(table.ident))
        conn.execute(sql.SQL("alter table {} set logged").format(target))
        conn.execute(sql.SQL("alter table {} reset (autovacuum_enabled)").format(target))
        return
    pseudonyms = {c.name for c in contract.columns if c.identifier in ("nhs_number", "person_key")} | {"match_key"}
    columns = [r[0] for r in conn.execute(
        "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped "
        "order by attnum", (f"landing.{table.name}",)).fetchall()]
    kept = [sql.Identifier(c) if c in ("_row_number", "_file_id") or c in pseudonyms or c.endswith("__valid")
            else sql.SQL("case when nullif({c}, '') is not null then {r} end as {c}").format(
                c=sql.Identifier(c), r=sql.Literal(REDACTED)) for c in columns]
    conn.execute(sql.SQL("create table {} as select {} from {}").format(target, sql.SQL(", ").join(kept), table.ident))
    conn.execute(sql.SQL("drop table {}").format(table.ident))
    protect(conn, target, contract.agency, sent_by)
