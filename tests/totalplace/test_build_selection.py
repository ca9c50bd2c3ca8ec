"""What a warehouse build selects: the whole warehouse at first and after a change to the dbt
project; afterwards only what lies downstream of the feeds whose published files changed."""

from __future__ import annotations

import shutil

from conftest import POLICE_SAMPLE

from totalplace import build_selection, dbt, ingest
from totalplace.contracts import get_contract
from totalplace.warehouse import bootstrap, connect


def test_a_new_police_file_selects_the_crime_models_and_nothing_of_spend(settings, tmp_path):
    bootstrap(settings.warehouse_url, settings)
    dbt.parse(settings, settings.warehouse_url)
    # partial builds defer to a copy no other dbt command overwrites
    manifest = dbt.current_manifest(settings)
    assert manifest == dbt.published_state_dir(settings) / "manifest.json"
    with connect(settings.warehouse_url) as conn:
        first = build_selection.select(conn, settings.dbt_project_dir, manifest)
        assert first.full and first.reason == "no published build yet"
        build_selection.record(conn, "first", first)
        conn.commit()
        idle = build_selection.select(conn, settings.dbt_project_dir, manifest)
    assert idle.sources == [] and idle.relations == [] and idle.reason == "nothing changed"

    outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, "police", "street_crime"), POLICE_SAMPLE)
    assert outcome.status == "published"
    with connect(settings.warehouse_url) as conn:
        after = build_selection.select(conn, settings.dbt_project_dir, manifest)
    assert after.sources == ["source:raw_police.police__street_crime"]
    assert after.selectors == ["source:raw_police.police__street_crime+"]
    names = {name: kind for _, name, kind in after.relations}
    assert names["int_street_crimes_counted"] == "incremental" and names["mart_crimes_by_lad_month"] == "table"
    assert names["stg_police__street_crimes"] == "view"
    assert "fct_spend" not in names and "stg_council__payments" not in names
    assert ("marts", "mart_crimes_by_lad_month", "table") in after.relations  # schemas as published
    assert build_selection.Selection.from_dict(after.as_dict()) == after


def test_a_change_to_the_dbt_project_means_a_full_build(settings, tmp_path):
    bootstrap(settings.warehouse_url, settings)
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    before = build_selection.project_hash(project)
    with connect(settings.warehouse_url) as conn:
        build_selection.record(conn, "earlier", build_selection.select(conn, project, None))
        conn.commit()
        (project / "models" / "marts" / "place" / "dim_place.sql").write_text(
            (project / "models" / "marts" / "place" / "dim_place.sql").read_text() + "\n-- a change\n")
        assert build_selection.project_hash(project) != before
        changed = build_selection.select(conn, project, dbt.manifest_path(settings))
    assert changed.full and changed.reason == "the dbt project changed since the last published build"
    assert changed.selectors == dbt.LAYER_SELECTORS["warehouse"]
