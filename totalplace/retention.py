"""Retention: nothing is kept longer than the data-sharing agreement allows.

Run daily by the ``ops__retention`` DAG. A published file older than its agreement's
``retention_days`` loses its bytes (the kept copy under ``files/``) and its rows (its partition of
``raw``, detached and dropped - the rows go as a whole, nothing is half-deleted); a quarantined
file loses its bytes and quarantined rows after ``quarantine_retention_days``; duplicates and
failed files lose their bytes then too. The ledger keeps the file's hash, sizes, counts and status
and gains ``purged_at``; each purge is written to ``ops.audit_log``. The marts lose the rows at the
next warehouse build.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg import sql

from totalplace.access import audit
from totalplace.agreements import NoAgreement, load_agreements
from totalplace.ingest.kept import discard_file
from totalplace.settings import Settings
from totalplace.warehouse import connect, pipeline_url, with_lock_retries

log = logging.getLogger(__name__)


@dataclass
class Purged:
    files: list[int] = field(default_factory=list)
    rows: int = 0
    skipped: list[str] = field(default_factory=list)


def retention_days(settings: Settings, entry: dict) -> int | None:
    """Days a file may be kept: its agreement's for published rows, the quarantine period otherwise."""
    if entry["status"] not in ("published", "superseded"):
        return settings.quarantine_retention_days
    agreements = load_agreements(settings.agreements_file)
    try:
        if entry["agreement"]:
            return agreements.by_id(entry["agreement"]).retention_days
        return agreements.for_file(entry["sent_by"] or "", entry["agency"], entry["feed"],
                                   entry["received_at"].date()).retention_days
    except (KeyError, NoAgreement):
        return None


def _unpurged(settings: Settings) -> list[dict]:
    with connect(pipeline_url(settings, "loader")) as conn:
        cur = conn.execute(
            "select file_id, agency, feed, name, status, agreement, sent_by, received_at from ops.file_ledger "
            "where purged_at is null and status in ('published', 'quarantined', 'duplicate', 'superseded', 'failed') "
            "order by file_id")
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def past_retention(settings: Settings, now: datetime) -> list[str]:
    """Files still kept although past their retention (or with none that can be found)."""
    left = []
    for entry in _unpurged(settings):
        days = retention_days(settings, entry)
        if days is None or entry["received_at"] + timedelta(days=days) <= now:
            left.append(f"file {entry['file_id']} ({entry['agency']}/{entry['feed']} {entry['name']})")
    return left


def purge_expired(settings: Settings, now: datetime | None = None) -> Purged:
    """Delete every file and row past its retention as of ``now`` (default: now)."""
    now = now or datetime.now(UTC)
    url = pipeline_url(settings, "loader")
    result = Purged()
    for entry in _unpurged(settings):
        days = retention_days(settings, entry)
        if days is None:
            result.skipped.append(f"file {entry['file_id']}: no agreement found for its retention")
            continue
        if entry["received_at"] + timedelta(days=days) > now:
            continue
        def purge(conn, entry=entry, days=days) -> int:
            rows = _drop_rows(conn, entry)
            conn.execute("update ops.file_ledger set purged_at = %s where file_id = %s", (now, entry["file_id"]))
            audit(conn, "purge", f"{entry['agency']}/{entry['feed']}",
                  {"file_id": entry["file_id"], "name": entry["name"], "status": entry["status"], "rows": rows,
                   "retention_days": days})
            return rows

        # detaching a partition of raw takes an ACCESS EXCLUSIVE lock: never queue readers behind it
        rows = with_lock_retries(url, purge, what=f"purging file {entry['file_id']}", settings=settings)
        # the bytes go after the commit: a crash in between leaves bytes to delete next time, never rows
        discard_file(settings, entry["agency"], entry["feed"], entry["file_id"])
        result.files.append(entry["file_id"])
        result.rows += rows
        log.info("purged file %s (%s/%s %s, %s): %d rows, kept %d days", entry["file_id"], entry["agency"],
                 entry["feed"], entry["name"], entry["status"], rows, days)
    return result


def _drop_rows(conn, entry: dict) -> int:
    """Drop the file's partition of raw (published), its history table (superseded) or its quarantine
    table; returns the rows dropped."""
    key = f"{entry['agency']}__{entry['feed']}"
    table = f"{key}__f{entry['file_id']}"
    schema = {"published": "raw", "superseded": "history"}.get(entry["status"], "quarantine")
    if conn.execute("select to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0] is None:
        return 0
    rows = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[0]
    if schema == "raw":
        conn.execute(sql.SQL("alter table {} detach partition {}").format(
            sql.Identifier("raw", key), sql.Identifier("raw", table)))
    conn.execute(sql.SQL("drop table {}").format(sql.Identifier(schema, table)))
    return rows
