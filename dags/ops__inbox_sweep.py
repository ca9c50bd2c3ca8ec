"""Starts the ingest of every feed with a file waiting that no watcher announced, every hour.

Files are taken as they arrive: the triggerer watches every inbox and starts a feed's ingest within
seconds of a file being complete (``totalplace.airflow_triggers``). This sweep is the safety net - a
triggerer that was down, a file a crash left unfinished in the ledger: it lists the inboxes and the
ledger once and starts ``ingest_<agency>__<feed>`` for each feed with work (a run already going
takes the file; the one started here then finds nothing). Re-run: safe at any time.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task

from totalplace.dag_defaults import Tag, platform_dag
from totalplace.settings import Settings


@dag(**platform_dag("17 * * * *", Tag.LAYER_OPS, __doc__))
def ops__inbox_sweep():
    @task
    def feeds_with_work() -> list[str]:
        """The ingest DAGs of feeds with a file in an inbox or unfinished in the ledger."""
        from totalplace.contracts import load_contracts
        from totalplace.pipeline import feeds_with_work as waiting
        from totalplace.warehouse import pipeline_url

        settings = Settings()
        contracts = load_contracts(settings.feeds_dir)
        return [contracts[key].dag_id for key in waiting(settings, pipeline_url(settings, "loader"))]

    TriggerDagRunOperator.partial(task_id="start_ingest", wait_for_completion=False).expand(
        trigger_dag_id=feeds_with_work())


ops__inbox_sweep()
