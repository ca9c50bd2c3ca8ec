"""The benchmark's warehouse and its load measurements: bare COPY, the platform, pandas.

The benchmark runs in its own database (``totalplace_bench``, made afresh each run) on the same
PostgreSQL, with its own state folder, so it never touches the warehouse a user has built. The
platform's load of each file runs in a child process (``python -m devtools.bench.load_one``) so
its peak memory (``VmHWM``) is the loader's alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from totalplace.settings import Settings
from totalplace.warehouse import connect, sqlalchemy_url

BENCH_DATABASE = "totalplace_bench"


def bench_agreements(settings: Settings, folder: Path) -> Path:
    """The project's agreements plus one for the benchmark's generated files, so every timed load
    goes through the same agreement check as any partner's file."""
    doc = yaml.safe_load(settings.agreements_file.read_text())
    doc["agreements"].append({
        "id": "platform-benchmark", "title": "Synthetic benchmark data", "purpose": "measuring the platform",
        "lawful_basis": "no personal data (generated)", "partners": ["*"], "feeds": ["*/*"],
        "starts": "2000-01-01", "review": "2099-01-01", "expires": "2099-12-31", "retention_days": 1})
    path = folder / "agreements.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def bench_settings(settings: Settings, admin_url: str) -> Settings:
    """A fresh ``totalplace_bench`` database and state folder; the roles' passwords are the cluster's own."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(BENCH_DATABASE)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(BENCH_DATABASE)))
    state = settings.state_dir / "bench" / "state"
    shutil.rmtree(state, ignore_errors=True)
    (state / "keys").mkdir(parents=True)
    roles = settings.state_dir / "keys" / "roles.json"  # roles are cluster-wide: reuse their passwords
    if roles.exists():
        shutil.copy2(roles, state / "keys" / "roles.json")
    url = make_conninfo(**{**conninfo_to_dict(admin_url), "dbname": BENCH_DATABASE})
    return settings.model_copy(update={
        "warehouse_url": url, "state_dir": state, "keys_dir": state / "keys",
        "agreements_file": bench_agreements(settings, settings.state_dir / "bench"),
        "sftp_settle_seconds": 0.5,
    })


def child_env(settings: Settings) -> dict[str, str]:
    """Environment for a child process that should see ``settings`` (the platform reads TOTALPLACE_*)."""
    return dict(os.environ, TOTALPLACE_WAREHOUSE_URL=settings.warehouse_url,
                TOTALPLACE_STATE_DIR=str(settings.state_dir), TOTALPLACE_KEYS_DIR=str(settings.keys_dir),
                TOTALPLACE_AGREEMENTS_FILE=str(settings.agreements_file),
                TOTALPLACE_SFTP_SETTLE_SECONDS=str(settings.sftp_settle_seconds))


def settle(url: str) -> None:
    """Start a measurement with nothing left to write: PostgreSQL's dirty buffers flushed
    (``CHECKPOINT``) and the kernel's dirty pages synced, so a step is not billed for writing out
    what the step before left behind (a bare COPY of a 1 GB file leaves about that much). Timings
    here still move by up to a third between runs; this removes one cause, not all."""
    try:
        with connect(url) as conn:
            conn.execute("checkpoint")
    except psycopg.errors.InsufficientPrivilege:  # an external server's login without pg_checkpoint
        pass
    os.sync()


def bare_copy(url: str, path: Path, columns: int, *, logged: bool = True, encoding: str = "UTF8",
              skip_lines: int = 0) -> float:
    """Seconds to COPY the file into a table of ``columns`` text columns made beforehand - what a
    user does by hand (``create table``; ``\\copy``). ``logged=False``: an unlogged table."""
    with connect(url) as conn:
        conn.execute("drop table if exists public.bench_bare_copy")
        conn.execute(sql.SQL("create {} table public.bench_bare_copy ({})").format(
            sql.SQL("" if logged else "unlogged"),
            sql.SQL(", ").join(sql.SQL("c{} text").format(sql.SQL(str(i))) for i in range(columns))))
        conn.commit()
        settle(url)
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(sql.SQL("copy public.bench_bare_copy from stdin with "
                                                    "(format csv, header true, encoding {})").format(
                sql.Literal(encoding))) as cp, path.open("rb") as fh:
            for _ in range(skip_lines):
                fh.readline()
            while chunk := fh.read(1 << 20):
                cp.write(chunk)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("drop table public.bench_bare_copy")
    return elapsed


@dataclass
class PlatformLoad:
    seconds: float
    steps: dict[str, float]
    peak_rss_mb: float
    children_peak_rss_mb: float  # the workbook reader's process, when there is one
    rows: int
    file_id: int
    status: str


def platform_load(settings: Settings, feed: str, path: Path) -> PlatformLoad:
    """Load + gate + publish of one file by the platform's own code, in a child process."""
    settle(settings.warehouse_url)
    result = subprocess.run([sys.executable, "-m", "devtools.bench.load_one", feed, str(path)],
                            env=child_env(settings), capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"loading {path.name} failed:\n{result.stderr[-3000:]}")
    done = json.loads(lines[-1])
    if done["status"] != "published":
        raise RuntimeError(f"benchmark file {path.name} was not published: {done}")
    return PlatformLoad(**done)


def pandas_peer(url: str, path: Path, rows: int, *, encoding: str = "utf-8") -> float:
    """Seconds for pandas ``read_csv`` + ``to_sql`` (its defaults) of the first ``rows`` rows."""
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        start = time.perf_counter()
        frame = pd.read_csv(path, nrows=rows, encoding=encoding, dtype=str)
        frame.to_sql("bench_pandas", engine, schema="public", if_exists="replace", index=False)
        elapsed = time.perf_counter() - start
        with engine.begin() as conn:
            conn.exec_driver_sql("drop table public.bench_pandas")
    finally:
        engine.dispose()
    return elapsed


def count_scan(url: str, table: str) -> float:
    """Seconds of one ``count(*)`` over ``table`` (the floor any check of every row pays)."""
    with connect(url) as conn:
        start = time.perf_counter()
        conn.execute(f"select count(*) from {table}").fetchone()  # noqa: S608 - the benchmark's own table
        return time.perf_counter() - start
