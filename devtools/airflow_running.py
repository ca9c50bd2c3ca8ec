"""Running the platform under a real Airflow (``totalplace airflow``) as an operator would - for the tests and
the benchmark: start it, talk to its API, drop files as partners do, and wait for what the scheduler does."""

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

TOTALPLACE = str(Path(sys.executable).with_name("totalplace"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, token: str | None = None, body: dict | None = None, method: str | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     method=method, headers={"Content-Type": "application/json",
                                                             **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def until(what, seconds: float, step: float = 2.0):
    """``what()`` once it is truthy (None after ``seconds``); errors of a server still starting are waited out."""
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


class RunningAirflow:
    """``totalplace airflow --port P [--workers N] [--unpaused]`` in a session of its own."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 0, unpaused: bool = True):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [TOTALPLACE, "airflow", "--port", str(self.port)]
        command += ["--workers", str(workers)] if workers else []
        command += ["--unpaused"] if unpaused else []
        with log.open("w") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.token: str | None = None

    def login(self, seconds: float = 240) -> None:
        version = until(lambda: call(f"{self.base}/api/v2/version"), seconds)
        assert version, self.log.read_text()[-3000:]
        found = re.search(r"login: (\S+) / (\S+)", self.log.read_text())
        assert found, self.log.read_text()[:2000]
        self.token = call(f"{self.base}/auth/token", body={"username": found[1], "password": found[2]})["access_token"]

    def get(self, path: str) -> dict:
        return call(f"{self.base}{path}", self.token)

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/api/v2/dags?limit=200")["dags"]}

    def runs(self, dag_id: str = "~") -> list[dict]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=200&order_by=-start_date")["dag_runs"]

    def task_instances(self) -> list[dict]:
        return self.get("/api/v2/dags/~/dagRuns/~/taskInstances?limit=1000")["task_instances"]

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # the group's other members (the API server is slow to go) must not outlive the test
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(1)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def drop(env: dict[str, str], account: str, feed: str, path: Path) -> float:
    """Upload ``path`` as ``account`` with ``totalplace drop`` (as a partner would); returns when it was complete."""
    done = subprocess.run([TOTALPLACE, "drop", "--as", account, "--feed", feed, str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.time()
