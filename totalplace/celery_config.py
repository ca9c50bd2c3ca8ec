"""The Celery workers' configuration (``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS``): Airflow's own, plus the
platform's heavy imports done once when a worker starts.

Each task a worker takes is a fork of the worker process: what the worker imported, the task has for
free. Great Expectations takes seconds to import - in every gate task, on a small file most of the task
- so the worker imports it (and the ingest stages) at start, and a file's gate costs its checks.
"""

from __future__ import annotations

import logging

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

CELERY_CONFIG = dict(DEFAULT_CELERY_CONFIG)

log = logging.getLogger(__name__)


@worker_init.connect
def _import_ahead(**_) -> None:
    try:
        import great_expectations  # noqa: F401 - imported for the forks

        import totalplace.ingest  # noqa: F401
    except Exception:  # noqa: BLE001 - only an optimisation: the task imports what it needs anyway
        log.warning("could not import ahead in the worker", exc_info=True)
