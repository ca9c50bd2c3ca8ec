"""Finding 2 (last part): a long analyst query must not stall publishing, nor publishing stall analysts.

Swapping the warehouse's schemas needs ACCESS EXCLUSIVE locks. Waiting for them behind an analyst's
open transaction queued every later query of every analyst behind the publisher. Publishing takes its
locks with a ``lock_timeout`` and tries again, so the queue never forms, and it completes once the
long query is done."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from totalplace import publish_warehouse
from totalplace.access import as_role
from totalplace.warehouse import bootstrap, connect


def _fake_build(settings) -> None:
    """Published schemas and a build of each, one table apiece (what dbt would have made)."""
    with connect(as_role(settings.warehouse_url, settings, "transformer")) as conn:
        for schema in publish_warehouse.SCHEMAS:
            for suffix, n in (("", 1), (publish_warehouse.BUILD_SUFFIX, 2)):
                conn.execute(f"create schema if not exists {schema}{suffix}")
                conn.execute(f"create table {schema}{suffix}.t as select {n} as n")
    with connect(settings.warehouse_url) as conn:
        conn.execute("grant select on marts.t to analyst")


def test_a_long_analyst_query_neither_stalls_publishing_nor_queues_other_analysts(settings):
    _fake_build(settings)
    analyst = as_role(settings.warehouse_url, settings, "analyst")
    long_query = psycopg.connect(analyst)
    long_query.execute("select n from marts.t").fetchall()  # its transaction stays open: ACCESS SHARE held
    done: dict[str, object] = {}

    def publish() -> None:
        try:
            publish_warehouse.swap(as_role(settings.warehouse_url, settings, "transformer"))
            done["at"] = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            done["error"] = exc

    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        time.sleep(1.5)
        # another analyst, meanwhile: answered at once, not queued behind the publisher's lock request
        with psycopg.connect(analyst, autocommit=True) as other:
            other.execute("set statement_timeout = '3s'")
            started = time.monotonic()
            assert other.execute("select n from marts.t").fetchone()[0] == 1
            assert time.monotonic() - started < 3
        assert "at" not in done, "published under an open reader's feet"
    finally:
        ended = time.monotonic()
        long_query.close()  # the long query ends ...
    publisher.join(timeout=60)
    assert "error" not in done, done.get("error")
    assert "at" in done and done["at"] - ended < 20, "publishing did not complete after the reader left"
    with psycopg.connect(analyst, autocommit=True) as conn:  # ... and the new build is what analysts read
        assert conn.execute("select n from marts.t").fetchone()[0] == 2


def test_a_reader_who_turns_off_its_own_limits_is_ended_when_it_blocks_publishing(settings):
    """A person's login may SET its statement and idle timeouts off and hold a lock for ever; when
    publishing finds such a reader in its way past the readers' limit, it ends that session."""
    from totalplace.access import grant

    settings = settings.model_copy(update={"sql_timeout_seconds": 2})  # the readers' limit
    bootstrap(settings.warehouse_url, settings)  # ... as the warehouse's roles carry it
    _fake_build(settings)
    with connect(settings.warehouse_url) as conn:
        grant(conn, "analyst", "anna_holds", "a-long-Passw0rd", settings)
    holder = psycopg.connect(make_conninfo(settings.warehouse_url, user="anna_holds", password="a-long-Passw0rd"))
    for limit in ("idle_in_transaction_session_timeout", "statement_timeout", "transaction_timeout"):
        holder.execute(f"set {limit} = 0")
    holder.execute("select n from marts.t").fetchall()  # and then sits in its transaction
    started = time.monotonic()
    try:
        publish_warehouse.swap(as_role(settings.warehouse_url, settings, "transformer"))
        took = time.monotonic() - started
        with pytest.raises(psycopg.OperationalError):
            holder.execute("select 1")
    finally:
        holder.close()
    assert took < 30, f"publishing waited {took:.0f} s behind a reader past its limit"
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select n from marts.t").fetchone()[0] == 2
