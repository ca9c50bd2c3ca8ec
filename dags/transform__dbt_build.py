"""Builds the warehouse with dbt whenever a feed publishes, by write-audit-publish: reference data,
then one `dbt build` into build schemas (``<schema>__build``) of everything downstream of the feeds
that changed since the last published build (of the whole warehouse the first time, or when the
dbt project changed: ``totalplace.build_selection``); then an audit against the ledger (spend per
file equals the file's total to the penny, rows per crime file equal the rows published); then one
transaction publishes the build (swaps the build schemas in, or replaces the rebuilt relations).
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

    @task(doc_md="`dbt build` into the build schemas: of everything downstream of the feeds that changed since "
                 "the last published build, or of every seed, model and test (first build, changed dbt project).")
    def build_warehouse() -> dict:
        import logging
        from collections import Counter

        from totalplace import build_selection, dbt
        from totalplace.publish_warehouse import drop_build
        from totalplace.warehouse import connect, pipeline_url

        settings = Settings()
        url = pipeline_url(settings, "transformer")
        log = logging.getLogger("totalplace.transform")
        with connect(url) as conn:
            selection = build_selection.select(conn, settings.dbt_project_dir, dbt.current_manifest(settings))
        scope = "the whole warehouse" if selection.full else f"downstream of {', '.join(selection.sources) or 'nothing'}"
        log.info("building %s (%s)", scope, selection.reason)
        if selection.sources == []:
            return {"selection": selection.as_dict(), "results": {}}
        # a fresh build (nothing left over from a failed run); a partial one starts the incremental
        # models it rebuilds from their published state. A full build starts them empty: it follows a
        # change of the dbt project, and rows an older model (or its staging) made are not what this
        # one makes - carried, they kept a lost service line out of fct_spend for ever
        carry = [] if selection.full else [
            (schema, name) for schema, name, kind in selection.relations if kind == "incremental"]
        drop_build(url, carry)
        results = dbt.build_layer(settings, url, "warehouse", BUILD_SUFFIX, select=selection.selectors,
                                  defer=not selection.full)
        dbt.record_results(url, get_current_context()["run_id"], "warehouse", results)
        for r in results:
            log.info("%-7s %-8s %s (%.2f s%s)", r.status, r.resource_type, r.unique_id, r.seconds,
                     f", {r.rows_affected} rows" if r.rows_affected not in (None, -1) else "")
        failed = dbt.failures(results)
        if failed:
            raise RuntimeError(f"dbt build: {len(failed)} of {len(results)} failed: " + "; ".join(
                f"{r.unique_id}: {r.message}" for r in failed[:10]))
        return {"selection": selection.as_dict(), "results": dict(Counter(r.status for r in results))}

    @task
    def audit(built: dict) -> int:
        """Cross-check the warehouse as it will be published against the ledger; any disagreement stops the publish."""
        from totalplace.publish_warehouse import AuditFailed
        from totalplace.publish_warehouse import audit as run_audit
        from totalplace.warehouse import pipeline_url

        if not built["results"]:
            return 0
        problems = run_audit(pipeline_url(Settings(), "transformer"))
        if problems:
            raise AuditFailed(f"{len(problems)} audit problem(s); the published warehouse is unchanged: "
                              + "; ".join(problems[:10]))
        return 0

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def publish(built: dict, _audited: int) -> None:
        """Publish the audited build in one transaction: swap the build schemas in (a full build) or
        replace the rebuilt relations (a partial one); note the build for the next one's selection."""
        from airflow.sdk.exceptions import AirflowSkipException

        from totalplace import build_selection, dbt
        from totalplace.publish_warehouse import publish_relations, swap
        from totalplace.warehouse import connect, pipeline_url

        if not built["results"]:
            raise AirflowSkipException("nothing changed since the last published build")
        settings = Settings()
        url = pipeline_url(settings, "transformer")
        selection = build_selection.Selection.from_dict(built["selection"])
        if selection.full:
            swap(url)
        else:
            publish_relations(url, selection.relations)
        with connect(url) as conn:
            build_selection.record(conn, get_current_context()["run_id"], selection)
        if dbt.current_manifest(settings) is None:  # the next build can be partial: it defers to this manifest
            dbt.parse(settings, url)

    built = build_warehouse()
    prepare_warehouse() >> built
    publish(built, audit(built))


transform__dbt_build()
