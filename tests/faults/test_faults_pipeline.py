"""Faults around the whole pipeline: dbt killed mid-build leaves the published warehouse as it was;
an ingest DAG run killed mid-task and run again, time after time, ends with the same rows as a
clean run. ``make chaos`` repeats the DAG scenario more often."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import POLICE_SAMPLE, write_variant
from test_faults import RESULTS, SCALE, books

from connectors.sftp import open_account
from totalplace import ingest
from totalplace.airflow_env import settings_environment
from totalplace.warehouse import connect

pytestmark = [pytest.mark.fault, pytest.mark.slow]
HERE = Path(__file__).parent


def in_month(month: str):
    """A write_variant edit: the sample's crimes moved to another month (a new file, new content)."""
    def edit(rows) -> None:
        for row in rows[1:]:
            row[1] = month
    return edit


def published_marts(settings) -> dict[str, int]:
    with connect(settings.warehouse_url) as conn:
        tables = [t for (t,) in conn.execute("select tablename from pg_tables where schemaname = 'marts'")]
        return {t: conn.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}  # noqa: S608


def test_dbt_killed_mid_build_leaves_the_published_warehouse_unchanged(reference_loaded, police_contract,
                                                                         tmp_path):
    from warehouse_build import build_and_publish

    settings = reference_loaded
    ingest.ingest_local(settings, police_contract, POLICE_SAMPLE)
    build_and_publish(settings)
    before = published_marts(settings)
    assert before["mart_crimes_by_lad_month"] > 0
    # a second file arrives; its build is killed once it is writing the marts
    february = write_variant(POLICE_SAMPLE, tmp_path / "2020-02.csv", in_month("2020-02"))
    ingest.ingest_local(settings, police_contract, february)
    env = {**os.environ, **settings_environment(settings), "PYTHONPATH": f"{HERE}:{os.environ.get('PYTHONPATH', '')}"}
    build = subprocess.Popen([sys.executable, str(HERE / "warehouse_build.py")], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    with connect(settings.warehouse_url) as conn:
        while time.monotonic() < deadline and conn.execute(
                "select count(*) from pg_tables where schemaname = 'marts__build'").fetchone()[0] == 0:
            time.sleep(0.05)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    assert build.returncode == -signal.SIGKILL
    assert published_marts(settings) == before  # nothing of the half-built warehouse is visible
    build_and_publish(settings)  # the next run starts afresh and publishes both months
    after = published_marts(settings)
    with connect(settings.warehouse_url) as conn:
        months = conn.execute("select count(distinct month_start) from marts.mart_crimes_by_lad_month").fetchone()[0]
    assert months == 2 and after["mart_crimes_by_lad_month"] > before["mart_crimes_by_lad_month"]
    RESULTS.append({"scenario": "dbt killed mid-build", "repetitions": 1, "files": 2, "lost": 0, "duplicated": 0,
                    "partial rows": 0})


def test_an_ingest_dag_killed_mid_task_and_run_again(sftp, airflow_home, police_contract, tmp_path):
    from totalplace import airflow_runner

    runs = 2 * SCALE
    env = {**os.environ, **settings_environment(sftp), "TOTALPLACE_FAILPOINT": "publish:kill"}
    code = ("from totalplace.settings import Settings\nfrom totalplace import airflow_runner\ns = Settings()\n"
            "airflow_runner.prepare_process(s, s.warehouse_url)\n"
            "airflow_runner.test_dag(airflow_runner.load_dags(s)['ingest_police__street_crime'])\n")
    airflow_runner.prepare_process(sftp, sftp.warehouse_url)
    dag = airflow_runner.load_dags(sftp)["ingest_police__street_crime"]
    for i in range(runs):
        month = f"2019-{i % 12 + 1:02d}" if i < 12 else f"20{10 + i // 12}-{i % 12 + 1:02d}"
        path = write_variant(POLICE_SAMPLE, tmp_path / f"{month}.csv", in_month(month))
        with open_account(sftp, "city_of_london_police") as police:
            police.upload(path, "street_crime")
        killed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-800:]
        assert airflow_runner.test_dag(dag).ok  # the scheduler's retry / an engineer clearing the run
        with connect(sftp.warehouse_url) as conn:
            rows = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
        assert rows == 797 * (i + 1)
    books(sftp, "ingest DAG killed mid-task, run again", runs, sent=runs)
