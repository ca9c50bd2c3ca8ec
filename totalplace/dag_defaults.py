"""Shared settings of every DAG: owner, retries, tags and the failure notifier.

Kept out of the DAG files so they stay thin and parse fast; nothing here imports heavy libraries.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

import pendulum

log = logging.getLogger("totalplace.alerts")

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

MARTS_ASSET_URI = "totalplace://warehouse/marts"
"""Updated by the transform DAG each time it publishes the warehouse; what the place profiles wait on."""


class Tag(StrEnum):
    """The only tags DAGs use, so filters in the Airflow UI stay meaningful."""

    LAYER_INGEST = "layer/ingest"
    LAYER_TRANSFORM = "layer/transform"
    LAYER_OPS = "layer/ops"
    LAYER_PUBLISH = "layer/publish"
    AGENCY_REFERENCE = "agency/reference"

    @staticmethod
    def agency(agency: str) -> str:
        """``agency/<type>`` of an agency type in partners.yml (not listed here: the registry decides)."""
        return f"agency/{agency}"

    @staticmethod
    def body(account: str) -> str:
        """``body/<account>``: the DAGs of the feeds one partner body sends."""
        return f"body/{account}"


def notify_failure(context) -> None:
    """on_failure_callback: a log line engineers can alert on, and the configured webhook / e-mail."""
    ti = context.get("task_instance")
    fields = {"dag": getattr(ti, "dag_id", "?"), "task": getattr(ti, "task_id", "?"),
              "run": getattr(ti, "run_id", "?"), "try": getattr(ti, "try_number", "?")}
    log.error("TOTALPLACE TASK FAILED dag=%s task=%s run=%s try=%s", *fields.values())
    try:
        from totalplace.alerts import alert
        from totalplace.settings import Settings

        alert(Settings(), "task_failed", f"{fields['dag']}.{fields['task']} failed: {context.get('exception')}",
              **fields)
    except Exception:  # noqa: BLE001 - a callback must never mask the task's own failure
        log.exception("could not send the task-failure alert")


def default_args(owner: str) -> dict:
    return {
        "owner": owner,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": notify_failure,
    }


DATA_TEAM = "Total Place data team"


def platform_dag(schedule, tag: str, doc_md: str, **extra) -> dict:
    """The arguments every platform DAG (transform, publish, ops) shares: one run at a time, no catch-up,
    the data team as owner, the module docstring as its doc - ``@dag(**platform_dag(...))``."""
    return {"schedule": schedule, "start_date": START_DATE, "catchup": False, "max_active_runs": 1, "tags": [tag],
            "default_args": default_args(DATA_TEAM), "doc_md": doc_md, **extra}
