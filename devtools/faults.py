"""Fault injection for the fault suite (``tests/faults``, ``make chaos``).

``TOTALPLACE_FAILPOINT=<point>:<action>`` makes the named point misbehave in this process:
``kill`` (SIGKILL: no cleanup, no rollback from Python - the server sees the connection vanish),
``terminate_backend`` (the database server ends the connection, as an administrator or a crash
would) or ``pause`` (touch ``TOTALPLACE_FAILPOINT_MARKER`` and sleep, so a test can restart
PostgreSQL under a load in flight). Unset, a point costs one environment lookup. The points sit
where a crash is most harmful: mid-COPY and between publishing rows and committing.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POINTS = ("copy", "publish")


def hit(point: str, conn=None, url: str | None = None) -> None:
    spec = os.environ.get("TOTALPLACE_FAILPOINT")
    if not spec:
        return
    name, _, action = spec.partition(":")
    if name != point:
        return
    action = action or "kill"
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "terminate_backend" and conn is not None and url is not None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as other:
            other.execute("select pg_terminate_backend(%s)", (conn.info.backend_pid,))
    elif action == "pause":
        Path(os.environ["TOTALPLACE_FAILPOINT_MARKER"]).touch()
        time.sleep(float(os.environ.get("TOTALPLACE_FAILPOINT_SECONDS", "30")))
