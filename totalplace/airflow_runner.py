"""Running the platform's DAGs in-process with ``dag.test()`` - for ``totalplace run``, the demo and tests.

``dag.test()`` executes a real DAG run (tasks, XComs, retries off) against the metadata database
in AIRFLOW_HOME without a scheduler. Asset-triggered scheduling does not happen in-process, so
``run_pipeline`` calls the transform DAG itself after the ingest DAGs, as the scheduler would.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from totalplace import airflow_env
from totalplace.settings import Settings
from totalplace.warehouse import dbt_env

log = logging.getLogger(__name__)


@dataclass
class DagResult:
    dag_id: str
    state: str
    failed_tasks: list[str]

    @property
    def ok(self) -> bool:
        return self.state == "success"


def prepare_process(settings: Settings, url: str) -> None:
    """Environment for Airflow and for the dbt profile, then the metadata database."""
    airflow_env.configure(settings)
    os.environ.update(dbt_env(url, settings))
    airflow_env.ensure_metadata_db(settings)


def load_dags(settings: Settings) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.dags_folder))
    if bag.import_errors:
        problems = "; ".join(f"{path}: {err.splitlines()[-1]}" for path, err in bag.import_errors.items())
        raise RuntimeError(f"DAG files failed to import: {problems}")
    return bag.dags


def test_dag(dag, **conf) -> DagResult:
    """One in-process run. Retries are off: a retry would only sleep through retry_delay here."""
    for task in dag.tasks:
        task.retries = 0
    run = dag.test(run_conf=conf or None)
    failed = []
    try:
        failed = [ti.task_id for ti in run.get_task_instances() if ti.state in ("failed", "upstream_failed")]
    except Exception:  # detached instance after the in-process run; the run state is what matters
        log.debug("could not list task instances of %s", dag.dag_id, exc_info=True)
    state = str(getattr(run.state, "value", run.state))
    return DagResult(dag.dag_id, state, failed)
