"""`make airflow` (`totalplace airflow`): a real `airflow standalone` on a port that is not 8080 serves the
project's DAGs, with their docs, tags and owners, to the printed login - and, started `--unpaused`, its
scheduler takes a dropped file with no command: published, the marts rebuilt, the site rewritten.
(tests/totalplace/test_airflow_cluster.py runs the same under Celery with two workers.)"""

from __future__ import annotations

import os
import socket
import time

import pytest

from devtools.airflow_running import RunningAirflow, drop, until
from totalplace.airflow_env import settings_environment
from totalplace.settings import PROJECT_ROOT
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow


def test_airflow_ui_lists_the_dags_and_its_scheduler_takes_a_dropped_file(settings, tmp_path):
    env = {**os.environ, **settings_environment(settings), "TOTALPLACE_AIRFLOW_HOME_DIR": str(tmp_path / "airflow"),
           "TOTALPLACE_INBOX_POLL_SECONDS": "1"}
    airflow = RunningAirflow(env, tmp_path / "airflow.log")
    try:
        airflow.login()
        from totalplace.contracts import load_contracts
        from totalplace.partners import registry

        # an ingest DAG per partner feed (reference data is loaded by the transform DAG), and the rest
        expected = {c.dag_id for c in load_contracts(settings.feeds_dir).values() if c.agency in registry(settings).agency_types}
        expected |= {"transform__dbt_build", "publish__place_profiles", "ops__retention", "ops__submission_calendar",
                     "ops__inbox_sweep"}

        def listed():
            dags = airflow.get("/api/v2/dags?limit=200")["dags"]
            return dags if expected <= {d["dag_id"] for d in dags} else None

        dags = until(listed, 240, step=3)  # the DAG processor parses the files after start
        assert dags, sorted(expected - airflow.dag_ids())
        for dag in dags:
            # each feed's DAG is owned by its contract's owner, the rest by the data team
            assert dag["tags"] and dag["owners"] and "airflow" not in dag["owners"], dag
            assert not dag["is_paused"], dag["dag_id"]  # --unpaused
        details = airflow.get("/api/v2/dags/publish__place_profiles/details")
        assert "place profiles" in details["doc_md"]
        assert {t["name"] for t in details["tags"]} == {"layer/publish"}

        # a partner drops a file; nothing else is run
        time.sleep(5)  # the triggerer takes up the watchers of the DAGs it was just given
        started = drop(env, "city_of_london_police", "street_crime",
                       PROJECT_ROOT / "tests" / "fixtures" / "police" / "2020-01-city-of-london-street.csv")

        def published():
            with connect(settings.warehouse_url) as conn:
                return conn.execute("select finished_at from ops.file_ledger where feed = 'street_crime' "
                                    "and status = 'published'").fetchone()

        assert until(published, 240, step=1), (airflow.runs(), (tmp_path / "airflow.log").read_text()[-2000:])
        published_after = time.time() - started
        index = settings.site_dir / "index.html"
        assert until(lambda: index.exists() and index.stat().st_mtime > started and any(
            r["state"] == "success" for r in airflow.runs("transform__dbt_build")), 300, step=2), airflow.runs()
        with connect(settings.warehouse_url) as conn:
            crimes = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
        assert crimes > 0
        print(f"\nstandalone: drop -> published {published_after:.0f} s, -> site {time.time() - started:.0f} s")
    finally:
        airflow.stop()
        from totalplace import sftp_server

        sftp_server.stop_background(settings)  # `totalplace airflow` brought the platform up: take it down
    # every process of the group is gone: nothing keeps the port
    time.sleep(1)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", airflow.port)) != 0
