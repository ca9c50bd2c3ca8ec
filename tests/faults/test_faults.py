"""The fault suite: crashes at the worst moments lose nothing and load nothing twice.

Each scenario breaks a real load - a partner's upload cut off, the loader SIGKILLed mid-COPY, its
database connection terminated, the process killed between publishing rows and committing,
PostgreSQL restarted under a load - then runs the pipeline again, and checks the books: every file
received has exactly one outcome, raw holds exactly the rows the ledger says, and no partial rows
exist anywhere. ``make test`` runs them with small files; ``make chaos`` with bigger ones and more
repetitions (``TOTALPLACE_CHAOS_SCALE``), printing the table of results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from connectors.sftp import open_account
from devtools.generate_data import london_lsoas, write_police_csv
from totalplace import ingest
from totalplace.airflow_env import settings_environment
from totalplace.ingest import receive
from totalplace.reference import REFERENCE_DIR
from totalplace.warehouse import connect

pytestmark = pytest.mark.fault
SCALE = int(os.environ.get("TOTALPLACE_CHAOS_SCALE", "1"))
RESULTS: list[dict] = []


def police_file(tmp_path, rows: int, month: str = "2021-06", seed: int = 1):
    lsoas = london_lsoas(REFERENCE_DIR / "ons_lsoa_lookup.csv", limit=200)
    return write_police_csv(tmp_path / f"police-{month}-{seed}.csv", rows, lsoas, month=month, seed=seed)


def books(settings, scenario: str, repetitions: int, *, sent: int) -> dict:
    """Every file received has one outcome, raw = ledger, nothing partial; recorded for `make chaos`."""
    with connect(settings.warehouse_url) as conn:
        outcomes = dict(conn.execute("select status, count(*) from ops.file_ledger group by 1").fetchall())
        twice = conn.execute("select count(*) - count(distinct sha256) from ops.file_ledger "
                             "where status = 'published'").fetchone()[0]
        ledger_rows = conn.execute("select coalesce(sum(rows), 0) from ops.file_ledger "
                                   "where status = 'published'").fetchone()[0]
        raw_rows = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
        landing = conn.execute("select count(*) from pg_tables where schemaname = 'landing'").fetchone()[0]
    decided = sum(outcomes.get(s, 0) for s in ("published", "quarantined", "duplicate", "superseded"))
    RESULTS.append({"scenario": scenario, "repetitions": repetitions, "files": sent, "lost": sent - decided,
                    "duplicated": twice, "partial rows": abs(raw_rows - ledger_rows) + landing})
    assert decided == sent and sum(outcomes.values()) == sent and twice == 0, outcomes
    assert raw_rows == ledger_rows and landing == 0
    return outcomes


def run_step(settings, step: str, file_id: int, failpoint: str, **env) -> subprocess.CompletedProcess:
    """One intake step in a separate process, with a failpoint armed."""
    code = ("import sys\nfrom totalplace.settings import Settings\nfrom totalplace.contracts import get_contract\n"
            "from totalplace import ingest\ns = Settings()\nc = get_contract(s.feeds_dir, 'police', 'street_crime')\n"
            f"r = ingest.{step}(s, c, {file_id})\nprint(r)\n")
    full = {**os.environ, **settings_environment(settings), "TOTALPLACE_FAILPOINT": failpoint, **env}
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=300)


def finish(settings, police_contract, file_id: int) -> ingest.Outcome:
    """What the next run does with a file a crash left behind."""
    status = ingest.load(settings, police_contract, file_id, notify=False)
    if status == "validating":
        ingest.validate(settings, police_contract, file_id)
    return ingest.publish(settings, police_contract, file_id, notify=False)


def received(settings, police_contract, path) -> int:
    with connect(settings.warehouse_url) as conn:
        sha, size = ingest.sha256_of(path)
        return receive.record_and_keep(conn, settings, police_contract, path, path.name, sha, size,
                                      move=False, account="city_of_london_police").file_id


@pytest.mark.parametrize("action", ["kill", "terminate_backend"])
def test_the_loader_dies_mid_copy_and_the_next_run_loads_the_file_once(settings, police_contract, tmp_path, action):
    ingest.prepare(settings, police_contract)
    for i in range(SCALE):
        path = police_file(tmp_path, 15_000 * SCALE, seed=i)
        file_id = received(settings, police_contract, path)
        crashed = run_step(settings, "load", file_id, f"copy:{action}")
        assert crashed.returncode != 0 or "loading" in crashed.stdout or "failed" in crashed.stdout, crashed
        with connect(settings.warehouse_url) as conn:
            assert conn.execute("select count(*) from raw.police__street_crime where _file_id = %s",
                                (file_id,)).fetchone()[0] == 0
        assert finish(settings, police_contract, file_id).status == "published"
    books(settings, f"loader {action} mid-COPY", SCALE, sent=SCALE)


def test_killed_between_publishing_rows_and_committing(settings, police_contract, tmp_path):
    ingest.prepare(settings, police_contract)
    for i in range(SCALE):
        file_id = received(settings, police_contract, police_file(tmp_path, 2_000 * SCALE, seed=100 + i))
        assert ingest.load(settings, police_contract, file_id, notify=False) == "validating"
        ingest.validate(settings, police_contract, file_id)
        crashed = run_step(settings, "publish", file_id, "publish:kill")
        assert crashed.returncode == -9, crashed.stderr[-500:]
        with connect(settings.warehouse_url) as conn:
            status, published = conn.execute(
                "select status, (select count(*) from raw.police__street_crime where _file_id = %s) "
                "from ops.file_ledger where file_id = %s", (file_id, file_id)).fetchone()
        assert (status, published) == ("validating", 0)  # rolled back whole: no rows, not published
        assert finish(settings, police_contract, file_id).status == "published"
    books(settings, "killed before the publish commits", SCALE, sent=SCALE)


def test_postgres_restarts_under_a_load(settings, police_contract, tmp_path, pg_server_restart):
    ingest.prepare(settings, police_contract)
    path = police_file(tmp_path, 15_000, seed=200)
    file_id = received(settings, police_contract, path)
    marker = tmp_path / "paused"
    code = ("from totalplace.settings import Settings\nfrom totalplace.contracts import get_contract\n"
            "from totalplace import ingest\ns = Settings()\n"
            f"print(ingest.load(s, get_contract(s.feeds_dir, 'police', 'street_crime'), {file_id}))\n")
    env = {**os.environ, **settings_environment(settings), "TOTALPLACE_FAILPOINT": "copy:pause",
           "TOTALPLACE_FAILPOINT_MARKER": str(marker), "TOTALPLACE_FAILPOINT_SECONDS": "3"}
    loader = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the load never reached the COPY"
    pg_server_restart()
    loader.wait(timeout=120)
    assert loader.returncode != 0  # its connection died with the server
    assert finish(settings, police_contract, file_id).status == "published"
    books(settings, "PostgreSQL restarted mid-load", 1, sent=1)


def test_an_upload_cut_off_is_never_taken_and_the_full_one_loads(sftp, police_contract, tmp_path):
    path = police_file(tmp_path, 3_000 * SCALE, seed=300)
    data = path.read_bytes()
    with open_account(sftp, "city_of_london_police") as police:
        for cut in (1, len(data) // 3, len(data) - 1):
            # the partner's client dies part-way: a .part file is left behind, never renamed
            with police.sftp.open("inbox/street_crime/cut.csv.part", "wb") as fh:
                fh.write(data[:cut])
            assert ingest.fetch(sftp, police_contract) == []
        police.upload(path, "street_crime")
    [file_id] = ingest.fetch(sftp, police_contract)
    assert finish(sftp, police_contract, file_id).status == "published"
    books(sftp, "upload cut off, then sent whole", 3, sent=1)


def test_the_same_file_under_many_names_is_published_once(sftp, police_contract, tmp_path):
    copies = 10 * SCALE
    path = police_file(tmp_path, 500, seed=400)
    with open_account(sftp, "city_of_london_police") as police:
        for i in range(copies):
            police.upload(path, "street_crime", name=f"copy-{i:03d}.csv")
    pending = ingest.fetch(sftp, police_contract)
    outcomes = [finish(sftp, police_contract, file_id).status for file_id in pending]
    counts = books(sftp, "the same file under many names", copies, sent=copies)
    assert counts == {"published": 1, "duplicate": copies - 1}
    assert outcomes.count("published") <= 1
