"""DAG policy: every DAG imports cleanly and fast, has tags from the enum, an owner, retries and docs."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from totalplace import services
from totalplace.dag_defaults import Tag
from totalplace.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def policy_settings(tmp_path_factory, airflow_home):
    """Settings with a dbt manifest (cosmos renders from it), shared by this module's tests."""
    from totalplace.airflow_env import settings_environment
    from totalplace.settings import Settings

    s = Settings(state_dir=tmp_path_factory.mktemp("policy"), airflow_home_dir=airflow_home)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in settings_environment(s).items():
            mp.setenv(key, value)
        services.ensure_manifest(s, "postgresql://unused@localhost/unused")  # dbt parse needs no connection
        yield s


@pytest.fixture(scope="module")
def dagbag(policy_settings):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(policy_settings.dags_folder))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"ingest_police__street_crime", "transform__dbt_build"} <= set(dagbag.dags)


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    allowed = {t.value for t in Tag}
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= allowed, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        assert dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)


def test_transform_dag_renders_dbt_models_from_the_manifest(dagbag):
    task_ids = set(dagbag.dags["transform__dbt_build"].task_ids)
    assert "prepare_warehouse" in task_ids
    assert any("mart_crimes_by_lad_month" in t for t in task_ids)
    assert any("stg_police__street_crimes" in t for t in task_ids)


def test_transform_dag_is_scheduled_on_every_partner_feeds_asset(dagbag):
    schedule = repr(dagbag.dags["transform__dbt_build"].timetable)
    assert "totalplace://raw/police__street_crime" in repr(dagbag.dags["transform__dbt_build"].timetable.asset_condition)
    assert schedule


def test_ingest_dag_shape(dagbag):
    dag = dagbag.dags["ingest_police__street_crime"]
    assert sorted(dag.task_ids) == ["fetch", "load", "publish", "validate", "wait_for_file"]
    assert dag.get_task("fetch").upstream_task_ids == {"wait_for_file"}
    assert dag.get_task("publish").upstream_task_ids == {"validate"}
    assert [o.uri for o in dag.get_task("publish").outlets] == ["totalplace://raw/police__street_crime"]


@pytest.mark.parametrize("dag_file", sorted(p.name for p in (PROJECT_ROOT / "dags").glob("*.py")))
def test_dag_files_parse_quickly_in_a_fresh_interpreter(policy_settings, dag_file):
    """Parse time of one DAG file once Airflow itself is imported (what the dag-processor pays per file)."""
    code = (
        "import time, runpy, airflow.sdk, cosmos\n"
        f"t = time.perf_counter(); runpy.run_path({str(PROJECT_ROOT / 'dags' / dag_file)!r}); "
        "print(time.perf_counter() - t)"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    parse_seconds = float(out.stdout.strip().splitlines()[-1])
    assert parse_seconds < 2.0, f"{dag_file} took {parse_seconds:.2f}s to parse"
    assert time.perf_counter() - start < 60
