"""Builds the warehouse with dbt whenever a feed publishes, by write-audit-publish: reference data,
then one `dbt build` of every seed, model and test into build schemas (``<schema>__build``); then
an audit against the ledger (spend per file equals the file's total to the penny, rows per crime
file equal the rows published); then one transaction swaps the build in for the published schemas.
A failed test or audit leaves the published warehouse exactly as it was, and the failed task says
why.

Scheduled on the assets the ingest DAGs update (``totalplace://raw/<agency>__<feed>``), so a
publish anywhere rebuilds the marts; publishing updates ``totalplace://warehouse/marts``, on which
the place profiles are rebuilt. The warehouse is built by one dbt invocation, not one per model or
per layer: starting dbt costs seconds, and building model by model (astronomer-cosmos's
task-per-model rendering) took minutes where this takes seconds, with 2 cores. The outcome of every
model and test is kept in ``ops.dbt_results`` (and listed in the task log), so per-model status is
not lost. dbt skips everything downstream of a model or test that fails: marts are never built from
a staging model that failed its tests. Re-run: clear the failed task.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from functools import reduce

from airflow.sdk import Asset, dag, get_current_context, task

from totalplace.contracts import load_contracts
from totalplace.dag_defaults import MARTS_ASSET_URI, START_DATE, Tag, default_args
from totalplace.settings import AGENCIES, Settings

_settings = Settings()
_assets = [Asset(c.asset_uri) for c in load_contracts(_settings.feeds_dir).values() if c.agency in AGENCIES]
BUILD_SUFFIX = "__build"


@dag(
    schedule=reduce(lambda a, b: a | b, _assets) if _assets else None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=[Tag.LAYER_TRANSFORM],
    default_args=default_args("Total Place data team"),
    doc_md=__doc__,
)
def transform__dbt_build():
    @task
    def prepare_warehouse() -> int:
        """Schemas and raw tables of every feed, then any changed reference file (ONS lookups, population)."""
        from totalplace.reference import load_reference
        from totalplace.services import prepare_warehouse as prepare
        from totalplace.warehouse import warehouse_url

        settings = Settings()
        prepare(settings, warehouse_url(settings))
        return len(load_reference(settings))

    @task(doc_md="`dbt build` of every seed, model and test, into the build schemas.")
    def build_warehouse() -> dict[str, int]:
        import logging
        from collections import Counter

        from totalplace import dbt
        from totalplace.publish_warehouse import drop_build
        from totalplace.warehouse import pipeline_url

        settings = Settings()
        url = pipeline_url(settings, "transformer")
        # a fresh build (nothing left over from a failed run) that starts incremental models from
        # their published state
        drop_build(url, dbt.incremental_models(settings))
        results = dbt.build_layer(settings, url, "warehouse", BUILD_SUFFIX)
        dbt.record_results(url, get_current_context()["run_id"], "warehouse", results)
        log = logging.getLogger("totalplace.transform")
        for r in results:
            log.info("%-7s %-8s %s (%.2f s%s)", r.status, r.resource_type, r.unique_id, r.seconds,
                     f", {r.rows_affected} rows" if r.rows_affected not in (None, -1) else "")
        failed = dbt.failures(results)
        if failed:
            raise RuntimeError(f"dbt build: {len(failed)} of {len(results)} failed: " + "; ".join(
                f"{r.unique_id}: {r.message}" for r in failed[:10]))
        return dict(Counter(r.status for r in results))

    @task
    def audit() -> int:
        """Cross-check the build against the ledger; any disagreement stops the publish."""
        from totalplace.publish_warehouse import AuditFailed
        from totalplace.publish_warehouse import audit as run_audit
        from totalplace.warehouse import pipeline_url

        problems = run_audit(pipeline_url(Settings(), "transformer"))
        if problems:
            raise AuditFailed(f"{len(problems)} audit problem(s); the published warehouse is unchanged: "
                              + "; ".join(problems[:10]))
        return 0

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def publish() -> None:
        """Swap the audited build in for the published schemas, in one transaction."""
        from totalplace.publish_warehouse import swap
        from totalplace.warehouse import pipeline_url

        swap(pipeline_url(Settings(), "transformer"))

    prepare_warehouse() >> build_warehouse() >> audit() >> publish()


transform__dbt_build()
