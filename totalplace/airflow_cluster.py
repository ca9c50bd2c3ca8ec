"""``totalplace airflow``: Airflow as it is deployed, on this machine.

With ``--workers N`` the platform runs as the compose file runs it: an API server, a scheduler, a DAG
processor, a triggerer (which watches the partners' inboxes) and N Celery workers taking tasks from
Redis, with Airflow's metadata in PostgreSQL (a database ``airflow`` beside the warehouse, or
``airflow_database_url``). Without, ``airflow standalone`` (one process tree, SQLite) is enough to look
around. Either way every task reaches the execution API on the port given - a task that called the
default ``localhost:8080`` while the API listened elsewhere failed every time.

The processes share one session; Ctrl-C (or signalling the group) stops them all, and one that dies
stops the rest: a cluster half up is worse than one down.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from psycopg.conninfo import make_conninfo

from totalplace import airflow_env
from totalplace.settings import Settings
from totalplace.state import private_dir, write_private
from totalplace.warehouse import connect, dbt_env, sqlalchemy_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _secret(settings: Settings, name: str, make) -> str:
    """A secret every process of the cluster must share (made once, kept 0600 in AIRFLOW_HOME)."""
    path = settings.airflow_home / name
    if not path.exists():
        private_dir(settings.airflow_home)
        write_private(path, make())
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def server_environment(settings: Settings, url: str, port: int) -> dict[str, str]:
    """What every Airflow process of this machine's deployment needs: the platform's settings, the dbt
    profile, the API's address - and the execution API URL at that same port, which the tasks call."""
    return {
        **os.environ,
        **airflow_env.airflow_environment(settings),
        **dbt_env(url, settings),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__PARALLELISM": str(settings.airflow_parallelism),
        "AIRFLOW__SCHEDULER__MAX_TIS_PER_QUERY": "4",
        # every process signs and checks the tasks' tokens, and reads connections, with the same keys
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(settings, "jwt_secret", lambda: secrets.token_urlsafe(32)),
        "AIRFLOW__CORE__FERNET_KEY": _secret(settings, "fernet_key", _fernet_key),
    }


def worker_hostname() -> str:
    """``<worker>@<host>``: the name Airflow records on each task instance a worker of this machine ran
    (``core.hostname_callable`` of the workers), so two workers on one host can be told apart."""
    return f"{os.environ.get('TOTALPLACE_WORKER_NAME', 'worker')}@{socket.getfqdn()}"


def metadata_url(settings: Settings, admin_url: str) -> str:
    """Airflow's metadata database: ``airflow_database_url``, else a database ``airflow`` made on the
    warehouse's server (the embedded one, by default) - its own database: no grant of the warehouse's
    roles reaches it, and no analyst's query sees who ran what."""
    if settings.airflow_database_url:
        return settings.airflow_database_url
    with connect(admin_url, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = 'airflow'").fetchone() is None:
            conn.execute("create database airflow")
            conn.execute("revoke all on database airflow from public")
    return sqlalchemy_url(make_conninfo(admin_url, dbname="airflow"))


def redis_server() -> str:
    """The ``redis-server`` program: the Debian package, installed when missing (as ``make browser``
    installs Chromium) - the broker the Celery workers take their tasks from."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("redis-server is not installed: `apt-get install redis-server` (the Celery workers' broker)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-q", "redis-server"], env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "redis-server"], env=env, capture_output=True, check=True)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def celery_environment(settings: Settings, metadata: str, redis_port: int) -> dict[str, str]:
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "totalplace.celery_config.CELERY_CONFIG",
        # the triggerer lists the inboxes every few seconds: tell the scheduler about new DAG runs soon
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def processes(workers: int, redis: str, redis_port: int) -> list[tuple[str, list[str]]]:
    """(name, command) of each process of a Celery deployment with ``workers`` workers."""
    return [
        ("redis", [redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
        ("api-server", ["airflow", "api-server"]),
        ("scheduler", ["airflow", "scheduler"]),
        ("dag-processor", ["airflow", "dag-processor"]),
        ("triggerer", ["airflow", "triggerer"]),
        *((f"worker{i}", ["airflow", "celery", "worker", "--celery-hostname", f"worker{i}@%h", "--concurrency", "1",
                          "--skip-serve-logs", "--without-gossip", "--without-mingle"])
          for i in range(1, workers + 1)),
    ]


def run_cluster(settings: Settings, url: str, port: int, workers: int, say) -> int:
    """Start every process, wait; stop them all when one ends or on a signal. Returns the exit code."""
    env = server_environment(settings, url, port)
    redis_port = free_port()
    env.update(celery_environment(settings, metadata_url(settings, url), redis_port))
    say("preparing Airflow's metadata database (airflow db migrate)")
    migrate(env)
    logs = private_dir(settings.airflow_home / "logs" / "processes")
    running: list[tuple[str, subprocess.Popen]] = []

    def stop(*_):
        for _, proc in reversed(running):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 30
        for _, proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        for name, command in processes(workers, redis_server(), redis_port):
            own = env
            if name.startswith("worker"):  # each task instance records which worker ran it
                own = {**env, "TOTALPLACE_WORKER_NAME": name,
                       "AIRFLOW__CORE__HOSTNAME_CALLABLE": "totalplace.airflow_cluster.worker_hostname"}
            with (logs / f"{name}.log").open("ab") as out:
                running.append((name, subprocess.Popen(command, env=own, stdout=out, stderr=subprocess.STDOUT)))
        say(f"started {', '.join(n for n, _ in running)}; logs in {logs}")
        while True:
            for name, proc in running:
                if proc.poll() is not None:
                    say(f"{name} stopped (exit {proc.returncode}): stopping the others - see {logs / (name + '.log')}")
                    return proc.returncode or 1
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
