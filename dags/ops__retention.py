"""Deletes what the data-sharing agreements no longer allow the platform to keep, every night.

A published file older than its agreement's ``retention_days`` (``agreements.yml``) loses its kept
bytes and its rows in ``raw`` (its partition, dropped whole); quarantined and duplicate files go
after ``TOTALPLACE_QUARANTINE_RETENTION_DAYS``. The ledger keeps each file's hash, counts and status
and records ``purged_at``; every purge is in ``ops.audit_log``. The marts lose the rows at the next
warehouse build. Trigger it with ``{"as_of": "2030-01-01"}`` to see what a later date would purge
(it does purge). Re-run: safe at any time, a purged file is never touched again.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from datetime import UTC

from airflow.sdk import Param, dag, get_current_context, task

from totalplace.dag_defaults import Tag, platform_dag
from totalplace.settings import Settings


@dag(**platform_dag("30 2 * * *", Tag.LAYER_OPS, __doc__,
                    params={"as_of": Param(None, type=["null", "string"], description="ISO date to purge as of (default: now)")}))
def ops__retention():
    @task
    def purge_expired() -> dict:
        """Drop the rows and bytes of every file past its retention."""
        from datetime import datetime

        from totalplace.retention import purge_expired as purge

        as_of = get_current_context()["params"].get("as_of")
        now = datetime.fromisoformat(as_of).replace(tzinfo=UTC) if as_of else None
        result = purge(Settings(), now)
        return {"files": len(result.files), "rows": result.rows, "skipped": result.skipped,
                "as_of": (now or datetime.now(UTC)).isoformat()}

    @task
    def check_nothing_past_retention(purged: dict) -> int:
        """Fail loudly if any file past its retention still has rows or bytes (e.g. no agreement found)."""
        from datetime import datetime

        from totalplace.retention import past_retention

        left = past_retention(Settings(), datetime.fromisoformat(purged["as_of"]))
        if left:
            raise RuntimeError(f"{len(left)} file(s) past retention still kept: " + "; ".join(left[:10]))
        return purged["files"]

    check_nothing_past_retention(purge_expired())


ops__retention()
