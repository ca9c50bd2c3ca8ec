"""``ops.file_ledger``: one row per file dropped, and the state it has reached.

Lifecycle: ``received -> loading -> validating -> published | quarantined``; a file whose content
(sha256) was already published or quarantined for the same feed becomes ``duplicate`` at once;
a published file a corrected re-submission replaces becomes ``superseded`` (in the transaction
that publishes the correction); ``failed`` records a step that broke (database down, disk full) so
the file can be re-run; ``totalplace reprocess`` takes a quarantined or failed file back to
``received`` (its earlier outcome kept in the report's history). Each
transition is a guarded UPDATE (``where status = any(allowed)``) run in the same transaction as
the data it describes; a transition that does not apply raises instead of overwriting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

STATUSES = ("received", "loading", "validating", "published", "quarantined", "duplicate", "superseded", "failed")
FINAL = ("published", "quarantined", "duplicate", "superseded")

ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    # re-running a file that a crash left half-way starts its load again from a fresh landing table
    "loading": ("received", "loading", "validating", "failed"),
    "validating": ("loading",),
    "published": ("validating",),
    "quarantined": ("received", "loading", "validating"),
    "duplicate": ("received", "loading", "validating"),
    "failed": ("received", "loading", "validating"),
    "superseded": ("published",),
    "received": ("quarantined", "failed"),
}


class LedgerConflict(RuntimeError):
    """A transition was asked for a file that is not in a state it may leave."""


@dataclass
class LedgerEntry:
    file_id: int
    agency: str
    feed: str
    name: str
    sha256: str
    bytes: int
    rows: int | None
    status: str
    error: str | None
    report: dict[str, Any] | None
    duplicate_of: int | None
    received_at: datetime
    finished_at: datetime | None
    sent_by: str | None = None
    agreement: str | None = None
    purged_at: datetime | None = None
    superseded_by: int | None = None
    publisher: str | None = None
    synthetic: bool = False
    account: str | None = None


_COLUMNS = ("file_id, agency, feed, name, sha256, bytes, rows, status, error, report, duplicate_of, received_at, "
            "finished_at, sent_by, agreement, purged_at, superseded_by, publisher, synthetic, account")

CONFIGURATION_CHECKS = ("data_sharing_agreement", "sender")
"""Checks a file fails for the platform's own configuration (no live agreement, no registered sender),
not for anything in the file: the same bytes sent again after the configuration is fixed are a new
try, not a duplicate of the refused one."""


def find_previous(conn: psycopg.Connection, agency: str, feed: str, sha256: str) -> LedgerEntry | None:
    """The earlier file with the same content that reached a final outcome, if any (a quarantine for the
    platform's configuration alone does not count: see CONFIGURATION_CHECKS)."""
    with conn.cursor(row_factory=class_row(LedgerEntry)) as cur:
        cur.execute(
            f"select {_COLUMNS} from ops.file_ledger where agency = %s and feed = %s and sha256 = %s "
            "and (status = 'published' or (status = 'quarantined' and exists ("
            "    select 1 from jsonb_array_elements(coalesce(report -> 'problems', '[]'::jsonb)) p "
            "    where p ->> 'check' <> all(%s)))) "
            "order by (status = 'published') desc, file_id limit 1",
            (agency, feed, sha256, list(CONFIGURATION_CHECKS)),
        )
        return cur.fetchone()


def duplicate_note(previous: LedgerEntry, sent_by: str | None) -> str:
    """Why a file is a duplicate, in words for its sender: another body's file is not named to it."""
    if previous.sent_by != sent_by:
        return f"the same content was already {previous.status} for this feed (sent by another body)"
    return f"same content as file {previous.file_id} ({previous.name}), which was {previous.status}"


def record_received(
    conn: psycopg.Connection, *, agency: str, feed: str, name: str, sha256: str, size: int, sent_by: str | None = None,
    publisher: str | None = None, synthetic: bool = False, account: str | None = None,
) -> LedgerEntry:
    """Enter a downloaded file; a repeat of an already-decided file is entered as ``duplicate``."""
    previous = find_previous(conn, agency, feed, sha256)
    with conn.cursor(row_factory=class_row(LedgerEntry)) as cur:
        if previous is None:
            cur.execute(
                f"insert into ops.file_ledger (agency, feed, name, sha256, bytes, sent_by, publisher, synthetic, account) "
                f"values (%s, %s, %s, %s, %s, %s, %s, %s, %s) returning {_COLUMNS}",
                (agency, feed, name, sha256, size, sent_by, publisher, synthetic, account),
            )
        else:
            cur.execute(
                "insert into ops.file_ledger (agency, feed, name, sha256, bytes, rows, status, error, duplicate_of, "
                f"finished_at, sent_by, publisher, synthetic, account) values (%s, %s, %s, %s, %s, %s, 'duplicate', "
                f"%s, %s, now(), %s, %s, %s, %s) returning {_COLUMNS}",
                (
                    agency,
                    feed,
                    name,
                    sha256,
                    size,
                    0,
                    duplicate_note(previous, sent_by),
                    previous.file_id,
                    sent_by,
                    publisher,
                    synthetic,
                    account,
                ),
            )
        entry = cur.fetchone()
    assert entry is not None
    return entry


def set_agreement(conn: psycopg.Connection, file_id: int, agreement: str) -> None:
    """Record the data-sharing agreement a file is accepted under (before any row lands)."""
    conn.execute("update ops.file_ledger set agreement = %s where file_id = %s", (agreement, file_id))


def transition(
    conn: psycopg.Connection,
    file_id: int,
    status: str,
    *,
    rows: int | None = None,
    error: str | None = None,
    report: dict[str, Any] | None = None,
    duplicate_of: int | None = None,
    superseded_by: int | None = None,
) -> LedgerEntry:
    """Move a file to ``status`` if the state machine allows it from where the file is now."""
    final = status in FINAL or status == "failed"
    if report is not None and "history" not in report:  # earlier outcomes of a reprocessed file stay
        prior = conn.execute("select report->'history' from ops.file_ledger where file_id = %s", (file_id,)).fetchone()
        if prior and prior[0]:
            report = {**report, "history": prior[0]}
    with conn.cursor(row_factory=class_row(LedgerEntry)) as cur:
        cur.execute(
            "update ops.file_ledger set status = %s, rows = coalesce(%s, rows), error = %s, "
            "report = coalesce(%s, report), duplicate_of = coalesce(%s, duplicate_of), "
            "superseded_by = coalesce(%s, superseded_by), "
            "finished_at = case when %s then now() else null end "
            f"where file_id = %s and status = any(%s) returning {_COLUMNS}",
            (
                status,
                rows,
                error,
                Jsonb(report) if report is not None else None,
                duplicate_of,
                superseded_by,
                final,
                file_id,
                list(ALLOWED_FROM[status]),
            ),
        )
        entry = cur.fetchone()
    if entry is None:
        current = get_entry(conn, file_id)
        now = current.status if current else "missing"
        raise LedgerConflict(f"file {file_id} cannot become {status}: it is {now}")
    return entry


def get_entry(conn: psycopg.Connection, file_id: int) -> LedgerEntry | None:
    with conn.cursor(row_factory=class_row(LedgerEntry)) as cur:
        cur.execute(f"select {_COLUMNS} from ops.file_ledger where file_id = %s", (file_id,))
        return cur.fetchone()


def list_entries(
    conn: psycopg.Connection, *, agency: str | None = None, feed: str | None = None, limit: int = 50
) -> list[LedgerEntry]:
    # a partner's login reads its own files through ops.partner_files() (the table is not granted to it)
    source = "ops.file_ledger" if conn.execute(
        "select has_table_privilege('ops.file_ledger', 'select')").fetchone()[0] else "ops.partner_files()"
    with conn.cursor(row_factory=class_row(LedgerEntry)) as cur:
        cur.execute(
            f"select {_COLUMNS} from {source} where (%(agency)s::text is null or agency = %(agency)s) "
            "and (%(feed)s::text is null or feed = %(feed)s) order by file_id desc limit %(limit)s",
            {"agency": agency, "feed": feed, "limit": limit},
        )
        return cur.fetchall()


def pending_for_feed(conn: psycopg.Connection, agency: str, feed: str) -> list[int]:
    """Files of a feed that entered the ledger but have not reached an outcome (to resume)."""
    rows = conn.execute(
        "select file_id from ops.file_ledger where agency = %s and feed = %s "
        "and status in ('received', 'loading', 'validating') order by file_id",
        (agency, feed),
    ).fetchall()
    return [r[0] for r in rows]


def published_for_feed(conn: psycopg.Connection, agency: str, feed: str, sent_by: str | None) -> list[LedgerEntry]:
    """The published files of one sender for a feed, oldest first (candidates for supersession)."""
    with conn.cursor(row_factory=class_row(LedgerEntry)) as cur:
        cur.execute(f"select {_COLUMNS} from ops.file_ledger where agency = %s and feed = %s "
                    "and sent_by is not distinct from %s and status = 'published' order by file_id",
                    (agency, feed, sent_by))
        return cur.fetchall()


PUBLISHERS_NAMED = 5


def set_publisher(conn: psycopg.Connection, file_id: int, table: str, column: str) -> None:
    """Record as the file's publisher the bodies its published rows name in ``column`` (the most
    frequent first, at most PUBLISHERS_NAMED, "and N more" beyond)."""
    from psycopg import sql

    names = [n for (n,) in conn.execute(sql.SQL(
        "select {c} from {t} where _file_id = %s and {c} is not null group by 1 order by count(*) desc, 1").format(
            c=sql.Identifier(column), t=sql.Identifier("raw", table)), (file_id,))]
    if names:
        text = "; ".join(names[:PUBLISHERS_NAMED]) + (f" and {len(names) - PUBLISHERS_NAMED} more"
                                                        if len(names) > PUBLISHERS_NAMED else "")
        conn.execute("update ops.file_ledger set publisher = %s where file_id = %s", (text, file_id))
