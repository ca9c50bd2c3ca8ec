"""Builds the warehouse with dbt whenever a feed publishes: reference data, then every model and test.

Scheduled on the assets the ingest DAGs update (``totalplace://raw/<agency>__<feed>``), so a
publish anywhere rebuilds the marts. dbt models are rendered as Airflow tasks by
astronomer-cosmos from the manifest that ``totalplace up`` writes (``dbt parse``): parsing this
file runs no dbt. Re-run: clear the failed task; models are rebuilt from raw each time.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from functools import reduce

from airflow.sdk import Asset, dag, task

from totalplace.contracts import load_contracts
from totalplace.dag_defaults import START_DATE, Tag, default_args
from totalplace.dbt import dbt_executable, manifest_path
from totalplace.settings import AGENCIES, Settings

_settings = Settings()
_assets = [Asset(c.asset_uri) for c in load_contracts(_settings.feeds_dir).values() if c.agency in AGENCIES]


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

    manifest = manifest_path(_settings)
    if manifest.exists():
        from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
        from cosmos.constants import InvocationMode, LoadMode, SourceRenderingBehavior, TestBehavior

        dbt = DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig(_settings.dbt_project_dir, manifest_path=manifest, install_dbt_deps=False),
            profile_config=ProfileConfig(
                profile_name="totalplace",
                target_name="warehouse",
                profiles_yml_filepath=_settings.dbt_project_dir / "profiles.yml",
            ),
            execution_config=ExecutionConfig(
                dbt_executable_path=dbt_executable(), invocation_mode=InvocationMode.DBT_RUNNER
            ),
            render_config=RenderConfig(
                load_method=LoadMode.DBT_MANIFEST,
                # one `dbt build` per model: the model and its tests in one task, half the tasks
                test_behavior=TestBehavior.BUILD,
                # no tasks for sources: their tests repeat the feed contract's rules, which the gate
                # already enforced on every published row (they still run in a CLI `dbt build`)
                source_rendering_behavior=SourceRenderingBehavior.NONE,
                # a test spanning two models (relationships) runs after both exist
                should_detach_multiple_parents_tests=True,
                # the embedded warehouse has a socket path, not a host, in its URI: no Airflow assets from dbt
                emit_datasets=False,
            ),
        )
    else:
        @task(task_id="dbt_manifest_missing")
        def dbt():
            raise RuntimeError(f"no dbt manifest at {manifest}: run `totalplace up` (it runs `dbt parse`)")

        dbt = dbt()

    prepare_warehouse() >> dbt


transform__dbt_build()
