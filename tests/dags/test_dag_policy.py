"""DAG policy: every DAG imports cleanly and fast, has tags from the enum, an owner, retries and docs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from totalplace import services
from totalplace.dag_defaults import Tag
from totalplace.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def policy_settings(tmp_path_factory, airflow_home):
    """Settings with a dbt manifest, shared by this module's tests."""
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
    from totalplace.partners import registry
    from totalplace.settings import Settings

    partners = registry(Settings())  # agency types and bodies come from the registry, not a list in code
    allowed = {t.value for t in Tag} | {Tag.agency(a) for a in partners.agency_types} | {
        Tag.body(a) for a in partners.accounts}
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= allowed, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        assert dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)


def test_transform_dag_builds_then_audits_then_publishes(dagbag):
    dag = dagbag.dags["transform__dbt_build"]
    assert sorted(dag.task_ids) == ["audit", "build_warehouse", "prepare_warehouse",
                                    "publish"]
    # publish follows the audit and takes the build's selection (whole warehouse or what it rebuilt)
    assert dag.get_task("publish").upstream_task_ids == {"audit", "build_warehouse"}
    assert dag.get_task("build_warehouse").upstream_task_ids == {"prepare_warehouse"}
    assert dag.get_task("audit").upstream_task_ids == {"build_warehouse"}


def test_transform_dag_is_scheduled_on_every_partner_feeds_asset(dagbag):
    schedule = repr(dagbag.dags["transform__dbt_build"].timetable)
    assert "totalplace://raw/police__street_crime" in repr(dagbag.dags["transform__dbt_build"].timetable.asset_condition)
    assert schedule


def test_ingest_dag_shape(dagbag):
    dag = dagbag.dags["ingest_police__street_crime"]
    assert sorted(dag.task_ids) == ["fetch", "load", "publish", "validate"]
    assert dag.get_task("load").upstream_task_ids == {"fetch"}
    assert dag.get_task("publish").upstream_task_ids == {"validate"}
    assert [o.uri for o in dag.get_task("publish").outlets] == ["totalplace://raw/police__street_crime"]


def test_an_ingest_dag_starts_when_a_file_arrives_and_an_hourly_sweep_catches_the_rest(dagbag):
    """Event-driven: the feed's inbox asset, watched by an InboxTrigger in the triggerer - never a
    monthly cron tick that a late file would wait a month for; ops__inbox_sweep starts the ingest of a
    feed with work every hour (the triggerer down, a file left unfinished)."""
    from totalplace.airflow_triggers import InboxTrigger

    for key, dag in dagbag.dags.items():
        if not key.startswith("ingest_"):
            continue
        timetable = dag.timetable
        assert type(timetable).__name__ == "AssetTriggeredTimetable", key
        asset = timetable.asset_condition
        feed_key = key.removeprefix("ingest_")
        assert asset.uri == f"totalplace://inbox/{feed_key}"
        [watcher] = asset.watchers
        assert isinstance(watcher.trigger, InboxTrigger)
        agency, feed = feed_key.split("__", 1)
        assert (watcher.trigger.agency, watcher.trigger.feed) == (agency, feed)
    sweep = dagbag.dags["ops__inbox_sweep"]
    assert "17 * * * *" in repr(sweep.timetable)
    assert sweep.get_task("start_ingest").upstream_task_ids == {"feeds_with_work"}


@pytest.mark.parametrize("dag_file", sorted(p.name for p in (PROJECT_ROOT / "dags").glob("*.py")))
def test_dag_files_parse_without_dbt_or_the_warehouse(policy_settings, dag_file):
    """Parsing a DAG file runs no dbt and opens no connection: the warehouse URL here points nowhere
    and dbt is not on PATH, yet every DAG renders. Parse speed itself is a `make bench` figure, not a
    timed test."""
    from totalplace.airflow_env import settings_environment

    code = (
        "import json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(PROJECT_ROOT / 'dags' / dag_file)!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "print(json.dumps({k: len(v.tasks) for k, v in bag.dags.items()}))"
    )
    env = {**os.environ, **settings_environment(policy_settings),
           "TOTALPLACE_WAREHOUSE_URL": "postgresql://nobody@unreachable.invalid:1/none", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    tasks = json.loads(out.stdout.strip().splitlines()[-1])
    assert tasks and all(n >= 1 for n in tasks.values()), tasks
