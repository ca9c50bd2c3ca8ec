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
a staging model that failed its tests. Re-run: clear the failed task. The steps are ``totalplace.transform``'s, which the tests call too.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from functools import reduce

from airflow.sdk import Asset, dag, get_current_context, task

from totalplace.contracts import load_contracts
from totalplace.dag_defaults import MARTS_ASSET_URI, Tag, platform_dag
from totalplace.partners import registry
from totalplace.settings import Settings

_settings = Settings()
_assets = [Asset(c.asset_uri) for c in load_contracts(_settings.feeds_dir).values()
           if c.agency in registry(_settings).agency_types]


@dag(**platform_dag(reduce(lambda a, b: a | b, _assets) if _assets else None, Tag.LAYER_TRANSFORM, __doc__))
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
        from totalplace import transform

        return transform.build(Settings(), get_current_context()["run_id"])

    @task
    def audit(built: dict) -> int:
        """Cross-check the warehouse as it will be published against the ledger; any disagreement stops the publish."""
        from totalplace import transform

        transform.audit(Settings(), built)
        return 0

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def publish(built: dict, _audited: int) -> None:
        """Publish the audited build in one transaction: swap the build schemas in (a full build) or
        replace the rebuilt relations (a partial one); note the build for the next one's selection."""
        from airflow.sdk.exceptions import AirflowSkipException

        from totalplace import transform

        if not transform.publish(Settings(), built, get_current_context()["run_id"]):
            raise AirflowSkipException("nothing changed since the last published build")

    built = build_warehouse()
    prepare_warehouse() >> built
    publish(built, audit(built))


transform__dbt_build()
