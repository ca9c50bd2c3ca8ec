"""Finding 2: ``totalplace sql`` was not read-only, had no time limit, fetched whole results before
``--limit`` and took the audit's actor from the environment.

Each attack below ran on the probe's demo: ``commit;`` ended the read-only transaction and the
statements after it wrote as ``loader``; an audit row was forged; ``pg_sleep(600)`` ran on after its
client was killed and was never audited; ``--limit 5`` on 5M rows used 829 MB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from conftest import run_cli
from psycopg.conninfo import make_conninfo

from totalplace.airflow_env import settings_environment
from totalplace.warehouse import connect

WRITES = [
    "commit; create table raw.x (a int); insert into raw.x values (1)",
    "create table raw.x (a int)",
    "commit; insert into ops.audit_log (actor, action, target) values ('someone_else', 'grant', 'analyst')",
    "insert into ops.audit_log (actor, action, target) values ('someone_else', 'grant', 'analyst')",
    "with forged as (insert into ops.audit_log (actor, action) values ('someone_else', 'grant') returning 1) "
    "select * from forged",
    "select 1; commit; drop table ops.audit_log",
    "begin; set transaction read write; create table raw.x (a int); commit",
    "reset default_transaction_read_only; create table raw.x (a int)",
]


def _audit(settings) -> list[tuple]:
    with connect(settings.warehouse_url) as conn:
        return conn.execute("select actor, db_role, action, target, detail from ops.audit_log "
                            "where action <> 'load' order by audit_id").fetchall()


@pytest.mark.parametrize("statement", WRITES)
def test_nothing_is_written_through_totalplace_sql_even_as_loader(settings, statement):
    out = run_cli(settings, "sql", "--as", "loader", statement)
    assert out.returncode != 0, out.stdout
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select to_regclass('raw.x')").fetchone()[0] is None
        assert conn.execute("select to_regclass('ops.audit_log')").fetchone()[0] is not None
    audit = _audit(settings)
    assert [a for a in audit if a[0] == "someone_else"] == [], "an audit row was forged"
    # the refusal itself is audited, with the statement as sent and why it did not run
    [(actor, _, action, _, detail)] = audit
    assert (actor, action, detail["statement"]) == ("loader", "query", statement)
    assert detail["outcome"] == "refused" and detail["error"]


def test_exactly_one_statement_is_decided_by_postgresql_not_by_splitting(settings):
    # semicolons inside a string and a comment are not statement ends; two real statements are two
    one = run_cli(settings, "sql", "--format", "csv", "select ';' as a, 'x; y' as b -- ; not a statement")
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines() == ["a,b", ";,x; y"]
    two = run_cli(settings, "sql", "select 1; select 2")
    assert two.returncode != 0 and "one statement" in two.stderr


def test_the_actor_is_the_database_login_not_the_environment(settings):
    env = {"LOGNAME": "mallory", "USER": "mallory", "USERNAME": "mallory"}
    out = _cli_env(settings, env, "sql", "select 1")
    assert out.returncode == 0, out.stderr
    [(actor, db_role, action, target, detail)] = _audit(settings)
    assert (actor, db_role, action, target) == ("analyst", "analyst", "query", "analyst")
    assert "mallory" not in str(detail)
    assert detail["outcome"] == "ok" and detail["rows"] == 1


def test_a_query_is_stopped_by_its_timeout_and_audited(settings):
    started = time.monotonic()
    out = _cli_env(settings, {"TOTALPLACE_SQL_TIMEOUT_SECONDS": "2"}, "sql", "select pg_sleep(60)")
    assert time.monotonic() - started < 30
    assert out.returncode != 0 and "timeout" in out.stderr.lower(), out.stderr
    [(_, _, _, _, detail)] = _audit(settings)
    assert detail["outcome"] == "error" and "timeout" in detail["error"]


def test_a_killed_client_leaves_an_audit_row_and_no_query_running(settings):
    env = dict(os.environ, **settings_environment(settings))
    client = subprocess.Popen([str(Path(sys.executable).with_name("totalplace")), "sql", "select pg_sleep(600)"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: _running(settings, "analyst"), 60), "the query never started"
        # written before the query ran: the row is there while it runs
        [(actor, _, _, _, detail)] = _audit(settings)
        assert actor == "analyst" and detail["statement"] == "select pg_sleep(600)"
        assert detail["outcome"] == "started"
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    # the server notices the client is gone and cancels the query (not 10 minutes later)
    assert _wait_for(lambda: not _running(settings, "analyst"), 30), "the query ran on without its client"


def test_limit_bounds_memory_not_just_output(settings):
    """5M rows asked for, 5 shown: the rows are fetched from a server-side cursor, not all at once."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = dict(os.environ, **settings_environment(settings))
    peak_kb = int(subprocess.run(
        [sys.executable, "-c", code, str(Path(sys.executable).with_name("totalplace")), "sql", "--limit", "5",
         "--format", "csv", "select g, md5(g::text) as h from generate_series(1, 5000000) as g"],
        env=env, capture_output=True, text=True, timeout=300, check=True).stdout.strip())
    assert peak_kb < 300_000, f"the client peaked at {peak_kb / 1024:.0f} MB for 5 rows"


def test_query_roles_carry_timeouts_and_read_only_defaults(settings):
    made = run_cli(settings, "grant", "analyst", "ann_analyst", "--password-stdin", input="a-long-Passw0rd\n")
    assert made.returncode == 0, made.stderr
    url = make_conninfo(settings.warehouse_url, user="ann_analyst", password="a-long-Passw0rd")
    with psycopg.connect(url, autocommit=True) as conn:
        shown = {name: conn.execute(f"show {name}").fetchone()[0] for name in (  # noqa: S608
            "default_transaction_read_only", "statement_timeout", "lock_timeout",
            "idle_in_transaction_session_timeout")}
    assert shown["default_transaction_read_only"] == "on"
    assert all(shown[k] not in ("0", "0ms") for k in shown), shown
    with connect(settings.warehouse_url) as conn:
        settings_of = dict(conn.execute(
            "select r.rolname, s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
            "where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))"
        ).fetchall())
    from totalplace.partners import registry

    for role in ("analyst", *registry(settings).accounts, "ann_analyst"):
        names = {c.split("=")[0] for c in settings_of.get(role) or []}
        assert {"default_transaction_read_only", "statement_timeout", "lock_timeout",
                "idle_in_transaction_session_timeout"} <= names, (role, settings_of.get(role))


def _cli_env(settings, extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings_environment(settings), **extra}
    return subprocess.run([str(Path(sys.executable).with_name("totalplace")), *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _running(settings, role: str) -> bool:
    """Whether a statement of ``role`` is running in this test's database (a cursor's query runs as FETCH)."""
    with connect(settings.warehouse_url) as conn:
        return conn.execute("select count(*) from pg_stat_activity where usename = %s and state = 'active' "
                            "and datname = current_database()", (role,)).fetchone()[0] > 0


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_reader_can_neither_stall_the_pipelines_nor_lift_its_superuser_limits(settings):
    """The probe held pg_advisory_lock(7461) - the bootstrap's lock - as an analyst and every pipeline
    hung; and a reader may SET its own timeouts off, but not the limits only a superuser may set."""
    from totalplace.warehouse import bootstrap

    made = run_cli(settings, "grant", "analyst", "ann_holds", "--password-stdin", input="a-long-Passw0rd\n")
    assert made.returncode == 0, made.stderr
    url = make_conninfo(settings.warehouse_url, user="ann_holds", password="a-long-Passw0rd")
    with psycopg.connect(url, autocommit=True) as reader:
        reader.execute("select pg_advisory_lock(7461)")  # harmless now: nothing of the platform waits on it
        reader.execute("set default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), reader.transaction():
            reader.execute("lock table ops.bootstrap_lock in access share mode")
        for name, value in (("temp_file_limit", "-1"), ("log_statement", "none")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(f"set {name} = {value}")
        assert reader.execute("show temp_file_limit").fetchone()[0] != "-1"
        started = time.monotonic()
        bootstrap(settings.warehouse_url, settings)  # as every pipeline entry point does
        assert time.monotonic() - started < 30


def test_limit_bounds_memory_when_values_are_huge(settings):
    """--limit counts rows: twelve rows of 100 MB values took 4 GB. Rows are fetched a few at a time
    and no more than MAX_BYTES of them."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stdout[-300:])")
    env = dict(os.environ, **settings_environment(settings))
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(sys.executable).with_name("totalplace")), "sql", "--limit", "12",
         "select length(repeat('x', 50000000)) as n, repeat('x', 50000000) as big from generate_series(1, 12)"],
        env=env, capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    peak_kb = int(out[0])
    assert peak_kb < 900_000, f"the client peaked at {peak_kb / 1024:.0f} MB"
    assert "more were not fetched" in "\n".join(out[1:])
