"""`make airflow` (`totalplace airflow`): a real `airflow standalone` serves the project's DAGs, with
their docs, tags and owners, to the printed login - asked through the API server, then stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from totalplace.airflow_env import settings_environment

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _until(what, seconds: float, step: float = 2.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = what()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def test_airflow_ui_lists_the_dags_with_docs_and_tags(settings, tmp_path):
    port = _free_port()
    log = tmp_path / "airflow.log"
    env = {**os.environ, **settings_environment(settings)}
    totalplace = str(Path(sys.executable).with_name("totalplace"))
    with log.open("w") as out:
        # its own session: stopping it means signalling the whole group (scheduler, API server, workers)
        proc = subprocess.Popen([totalplace, "airflow", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        version = _until(lambda: _call(f"{base}/api/v2/version"), 180)
        assert version, log.read_text()[-3000:]
        login = re.search(r"login: (\S+) / (\S+)", log.read_text())
        assert login, log.read_text()[:2000]
        token = _call(f"{base}/auth/token", body={"username": login[1], "password": login[2]})["access_token"]

        from totalplace.contracts import load_contracts
        from totalplace.partners import registry

        # an ingest DAG per partner feed (reference data is loaded by the transform DAG), and the rest
        expected = {c.dag_id for c in load_contracts(settings.feeds_dir).values() if c.agency in registry(settings).agency_types}
        expected |= {"transform__dbt_build", "publish__place_profiles", "ops__retention", "ops__submission_calendar"}

        def listed():
            dags = _call(f"{base}/api/v2/dags?limit=100", token)["dags"]
            return dags if expected <= {d["dag_id"] for d in dags} else None

        dags = _until(listed, 180, step=3)  # the DAG processor parses the files after start
        assert dags, sorted(expected - {d["dag_id"] for d in _call(f"{base}/api/v2/dags?limit=100", token)["dags"]})
        for dag in dags:
            # each feed's DAG is owned by its contract's owner, the rest by the data team
            assert dag["tags"] and dag["owners"] and "airflow" not in dag["owners"], dag
        details = _call(f"{base}/api/v2/dags/publish__place_profiles/details", token)
        assert "place profiles" in details["doc_md"]
        assert {t["name"] for t in details["tags"]} == {"layer/publish"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        from totalplace import sftp_server

        sftp_server.stop_background(settings)  # `totalplace airflow` brought the platform up: take it down
    # every process of the group is gone: nothing keeps the port
    time.sleep(1)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
