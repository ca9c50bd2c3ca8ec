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


class Tag(StrEnum):
    """The only tags DAGs use, so filters in the Airflow UI stay meaningful."""

    LAYER_INGEST = "layer/ingest"
    LAYER_TRANSFORM = "layer/transform"
    LAYER_OPS = "layer/ops"
    AGENCY_POLICE = "agency/police"
    AGENCY_NHS = "agency/nhs"
    AGENCY_HOUSING = "agency/housing"
    AGENCY_COUNCIL = "agency/council"
    AGENCY_REFERENCE = "agency/reference"

    @classmethod
    def agency(cls, agency: str) -> Tag:
        return cls(f"agency/{agency}")


def notify_failure(context) -> None:
    """on_failure_callback: one log line engineers can alert on (webhook/e-mail come later)."""
    ti = context.get("task_instance")
    log.error(
        "TOTALPLACE TASK FAILED dag=%s task=%s run=%s try=%s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        getattr(ti, "run_id", "?"),
        getattr(ti, "try_number", "?"),
    )


def default_args(owner: str) -> dict:
    return {
        "owner": owner,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": notify_failure,
    }
