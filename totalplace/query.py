"""``totalplace sql``: one query, read-only, bounded in time and memory, audited before it runs.

What a curious analyst (or a partner, or an engineer typing as ``loader``) may do through it:

* **exactly one query** - a ``SELECT``, ``WITH ... SELECT``, ``VALUES`` or ``TABLE``. PostgreSQL's own
  parser decides: the text is sent as the body of a cursor in one message of the extended query
  protocol, which refuses two statements ("cannot insert multiple commands into a prepared
  statement") and anything but a query (``DECLARE ... CURSOR FOR`` takes no ``COMMIT``, ``SET``,
  DDL or data-modifying ``WITH``). Splitting on ``;`` would be fooled by a semicolon in a string.
* **in a read-only transaction** (``BEGIN READ ONLY``) that the query cannot end: it is the only
  statement, and a function it calls cannot turn ``transaction_read_only`` off once the transaction
  has taken its snapshot.
* **bounded**: ``statement_timeout``, ``lock_timeout`` and ``idle_in_transaction_session_timeout`` of
  ``sql_timeout_seconds``, and ``client_connection_check_interval``, so a killed client does not leave
  its query running; rows come from a server-side cursor, a few at a time, so ``--limit 5`` holds 6
  rows in memory whatever the query returns, and no more than ``MAX_BYTES`` of rows are fetched.
* **audited before it runs**: a row of ``ops.audit_log`` (statement, role, outcome ``started``) is
  committed first and given its outcome after (``ok`` with the rows, ``refused`` or ``error`` with
  why); the actor is the database login that ran the query, never a name from the environment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from totalplace.access import as_role, audit
from totalplace.settings import Settings
from totalplace.warehouse import connect, warehouse_url


def roles(settings: Settings) -> tuple[str, ...]:
    """Who ``totalplace sql --as`` may query as: the analysts, a partner body (its own rows), the pipelines."""
    from totalplace.access import body_roles

    return ("analyst", *body_roles(settings), "transformer", "loader", "admin")

CURSOR = "totalplace_sql"
MAX_BYTES = 64 * 2**20
"""Rows fetched stop here (with ``more``): --limit counts rows, and a few rows of 100 MB values were 4 GB."""
BATCH = 50


class QueryRefused(Exception):
    """The text is not one read-only query, or the role may not read what it names."""


class QueryFailed(Exception):
    """The query ran and failed (a timeout, an error in it)."""


@dataclass
class QueryResult:
    names: list[str]
    rows: list[tuple[Any, ...]]
    more: bool
    """True when the query had rows beyond ``limit`` (they were not fetched)."""
    audit_id: int
    detail: dict = field(default_factory=dict)


def login_url(settings: Settings, role: str) -> str:
    if role not in roles(settings):
        raise QueryRefused(f"unknown role {role!r}: use {', '.join(roles(settings))}")
    admin = warehouse_url(settings)
    return admin if role == "admin" else as_role(admin, settings, role)


def session_options(settings: Settings) -> str:
    """libpq ``options`` of the query's session: its limits, fixed before any statement is read."""
    ms = settings.sql_timeout_seconds * 1000
    return (f"-c statement_timeout={ms} -c lock_timeout={min(ms, 10_000)} "
            f"-c idle_in_transaction_session_timeout={ms} -c client_connection_check_interval=2000 "
            "-c default_transaction_read_only=on")


def run_query(settings: Settings, statement: str, *, role: str = "analyst", limit: int = 1000) -> QueryResult:
    """Run one read-only query as ``role``; at most ``limit`` rows are fetched. Raises QueryRefused or
    QueryFailed (both audited) - see the module docstring for what is allowed and why."""
    url = login_url(settings, role)
    admin = warehouse_url(settings)
    login = str(conninfo_to_dict(url).get("user") or "postgres")
    detail: dict[str, Any] = {"statement": statement, "role": role, "limit": limit, "outcome": "started"}
    with connect(admin) as conn:  # committed before the query is sent: a killed client leaves this row
        audit_id = audit(conn, "query", role, detail, actor=login)
    started = time.perf_counter()
    try:
        names, rows, more = _fetch(url, statement, limit, session_options(settings))
    except QueryRefused as exc:
        _finish(admin, audit_id, detail, outcome="refused", error=str(exc))
        raise
    except psycopg.Error as exc:
        message = _first_line(exc)
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in message:
            message = (f"the query was stopped after {settings.sql_timeout_seconds} s (statement timeout; "
                       "TOTALPLACE_SQL_TIMEOUT_SECONDS)")
        refused = isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction)
        _finish(admin, audit_id, detail, outcome="refused" if refused else "error", error=message)
        raise (QueryRefused if refused else QueryFailed)(message) from exc
    detail = _finish(admin, audit_id, detail, outcome="ok", rows=len(rows), more=more,
                     seconds=round(time.perf_counter() - started, 3))
    return QueryResult(names, rows, more, audit_id, detail)


def _fetch(url: str, statement: str, limit: int, options: str) -> tuple[list[str], list[tuple], bool]:
    with psycopg.connect(url, options=options, application_name="totalplace sql") as conn:
        conn.read_only = True  # BEGIN READ ONLY before the cursor is declared
        try:
            with conn.cursor(name=CURSOR) as cur:
                cur.execute(statement)  # DECLARE ... CURSOR FOR <statement>, one extended-protocol message
                names = [d.name for d in cur.description or []]
                rows, size = [], 0
                while len(rows) <= limit and size <= MAX_BYTES:  # each FETCH is bounded by the timeout too
                    # one row first, then as many as the rows' size so far says fit in what is left
                    per_row = size / len(rows) if rows else MAX_BYTES
                    wanted = max(1, min(BATCH, limit + 1 - len(rows), int((MAX_BYTES - size) // max(per_row, 1))))
                    batch = cur.fetchmany(wanted)
                    rows += batch
                    size += sum(_size(v) for row in batch for v in row)
                    if len(batch) < wanted:
                        break
        except (psycopg.errors.SyntaxError, psycopg.errors.FeatureNotSupported) as exc:
            conn.rollback()
            raise QueryRefused(_why_refused(exc, statement, _statements_in(conn, statement))) from exc
        finally:
            conn.rollback()
    if size > MAX_BYTES:  # the last row went past the budget: what was fetched is shown, the rest not
        return names, rows[:min(limit, max(len(rows) - 1, 1))], True
    return names, rows[:limit], len(rows) > limit


def _size(value) -> int:
    """Roughly what a value holds: its length for text and bytes, its text for arrays and JSON (an
    array of a million elements is one value), 16 for a number, a date or a null."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, memoryview):
        return value.nbytes
    if value is None or isinstance(value, int | float):
        return 16
    return max(len(str(value)), 16)


def _statements_in(conn: psycopg.Connection, statement: str) -> int:
    """1, or 2 for "more than one": PostgreSQL parses the text as it is (Parse only, nothing runs)."""
    result = conn.pgconn.prepare(b"", statement.encode(conn.info.encoding or "utf-8"))
    return 2 if b"multiple commands" in (result.error_message or b"") else 1


def _why_refused(exc: psycopg.Error, statement: str, statements: int) -> str:
    message = _first_line(exc)
    if "multiple commands" in message or statements > 1:
        return ("totalplace sql runs exactly one statement, and the text holds more than one (PostgreSQL's "
                "parser says so; a ';' inside a string or comment is fine)")
    if "data-modifying" in message:
        return "totalplace sql only reads: a WITH that inserts, updates or deletes is not run"
    position = getattr(exc.diag, "statement_position", None)
    declared = f'DECLARE "{CURSOR}" CURSOR FOR '
    at = int(position) - 1 - len(declared) if position else None
    if at is not None and at <= len(statement) - len(statement.lstrip()):
        first = statement.split(None, 1)[0] if statement.split() else "(nothing)"
        return (f"totalplace sql runs one query (SELECT, WITH ... SELECT, VALUES or TABLE) read-only; "
                f"{first!r} is not one")
    return message


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _finish(admin: str, audit_id: int, detail: dict, **outcome: Any) -> dict:
    detail = {**detail, **outcome}
    with connect(admin) as conn:
        conn.execute("update ops.audit_log set detail = %s where audit_id = %s", (Jsonb(detail), audit_id))
    return detail
