"""Real Airflow DAG runs (dag.test) end to end: SFTP drop -> ingest DAG -> transform DAG -> mart."""

from __future__ import annotations

import pytest
from conftest import POLICE_SAMPLE, drop_sample_and_damaged, write_variant

from connectors.sftp import open_account
from totalplace import pipeline
from totalplace.access import as_role
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow


def _mart_oids(conn) -> dict[str, int]:
    """The OIDs of three marts: a relation that was replaced has a new one."""
    return dict(conn.execute("select relname, oid from pg_class where relnamespace = 'marts'::regnamespace "
                             "and relname in ('fct_spend', 'mart_total_place', 'mart_crimes_by_lad_month')"))


def test_drop_run_and_run_again(sftp, airflow_home, tmp_path):
    damaged = drop_sample_and_damaged(sftp, tmp_path)

    first = pipeline.run_all(sftp)
    assert first.ok, [(r.dag_id, r.state, r.failed_tasks) for r in first.dag_results]
    assert [r.dag_id for r in first.dag_results] == [
        "ingest_police__street_crime", "transform__dbt_build", "publish__place_profiles"]
    assert sorted((f.name, f.status) for f in first.files) == [
        (POLICE_SAMPLE.name, "published"), ("damaged.csv", "quarantined")]
    with connect(sftp.warehouse_url) as conn:
        located = conn.execute(
            "select count(*) from raw.police__street_crime r join raw.reference__ons_lsoa_lookup l "
            "on l.lsoa_code = r.lsoa_code").fetchone()[0]
        mart_total, lads = conn.execute(
            "select sum(crimes), count(distinct lad_code) from marts.mart_crimes_by_lad_month").fetchone()
        city = conn.execute(
            "select crimes, population, crimes_per_1000 from marts.mart_crimes_by_lad_month "
            "where lad_name = 'City of London' and crime_type = 'Other theft'").fetchone()
        results = dict(conn.execute(
            "select unique_id, status from ops.dbt_results where unique_id like 'model.%'").fetchall())
    assert mart_total == located and located > 700
    # every model's outcome is kept, as the per-model status of the build
    assert results["model.totalplace.mart_crimes_by_lad_month"] == "success"
    assert set(results.values()) == {"success"}
    assert lads > 1
    assert city[0] > 0 and float(city[2]) == pytest.approx(1000 * city[0] / city[1], abs=0.001)

    # the same files again: both duplicates, nothing loaded, the warehouse is not rebuilt
    with open_account(sftp, "city_of_london_police") as police:
        police.upload(POLICE_SAMPLE, "street_crime")
        police.upload(damaged, "street_crime")
    second = pipeline.run_all(sftp)
    assert second.ok
    assert [f.status for f in second.files] == ["duplicate", "duplicate"]
    assert not second.transformed
    with connect(sftp.warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.police__street_crime").fetchone()[0] == 797

    # a new month of street crimes: only what lies downstream of the police feed is rebuilt and
    # replaced; spend and the other marts are the very relations published before
    with connect(sftp.warehouse_url) as conn:
        before = _mart_oids(conn)
        builds = conn.execute("select count(*) from ops.warehouse_builds").fetchone()[0]
    def to_february(rows: list[list[str]]) -> None:
        for row in rows[1:]:
            row[1] = "2020-02"

    february = write_variant(POLICE_SAMPLE, tmp_path / "2020-02-city-of-london-street.csv", to_february)
    with open_account(sftp, "city_of_london_police") as police:
        police.upload(february, "street_crime")
    fourth = pipeline.run_all(sftp)
    assert fourth.ok and [f.status for f in fourth.files] == ["published"]
    with connect(sftp.warehouse_url) as conn:
        after = _mart_oids(conn)
        sources, reason = conn.execute("select sources, reason from ops.warehouse_builds "
                                       "order by published_at desc limit 1").fetchone()
        assert conn.execute("select count(*) from ops.warehouse_builds").fetchone()[0] == builds + 1
        rebuilt = {u for (u,) in conn.execute(
            "select unique_id from ops.dbt_results where run_id = (select run_id from ops.warehouse_builds "
            "order by published_at desc limit 1) and resource_type = 'model'")}
        months = dict(conn.execute("select month_start::text, sum(crimes) from marts.mart_crimes_by_lad_month "
                                   "group by 1").fetchall())
        located = conn.execute(
            "select count(*) from raw.police__street_crime r join raw.reference__ons_lsoa_lookup l "
            "on l.lsoa_code = r.lsoa_code").fetchone()[0]
    assert sources == ["source:raw_police.police__street_crime"], reason
    assert "model.totalplace.mart_crimes_by_lad_month" in rebuilt and "model.totalplace.fct_spend" not in rebuilt
    assert after["fct_spend"] == before["fct_spend"] and after["mart_total_place"] == before["mart_total_place"]
    assert after["mart_crimes_by_lad_month"] != before["mart_crimes_by_lad_month"]
    assert months == {"2020-01-01": mart_total, "2020-02-01": mart_total} and located == 2 * mart_total
    with connect(as_role(sftp.warehouse_url, sftp, "analyst")) as conn:  # the replaced mart keeps its readers
        assert conn.execute("select count(*) from marts.mart_crimes_by_lad_month").fetchone()[0] > 0

    # nothing changed since: the transform builds nothing and publishes nothing
    idle = pipeline.run_all(sftp, transform="always")
    assert idle.ok and idle.transformed
    with connect(sftp.warehouse_url) as conn:
        assert conn.execute("select count(*) from ops.warehouse_builds").fetchone()[0] == builds + 1

    # a dbt test broken on purpose: the build fails, the run says so, the published warehouse is untouched
    import shutil

    broken_project = tmp_path / "dbt_project"
    shutil.copytree(sftp.dbt_project_dir, broken_project)
    (broken_project / "tests" / "assert_no_crimes.sql").write_text(
        "-- fails whenever there is a crime: a test broken on purpose\n"
        "select * from {{ ref('mart_crimes_by_lad_month') }} where crimes > 0\n")
    with connect(sftp.warehouse_url) as conn:
        before = conn.execute("select md5(string_agg(t::text, ',' order by t::text)) "
                              "from marts.mart_crimes_by_lad_month t").fetchone()[0]
    third = pipeline.run_all(sftp.model_copy(update={"dbt_project_dir": broken_project}), transform="always")
    assert not third.ok
    [failed] = [r for r in third.dag_results if not r.ok]
    assert failed.dag_id == "transform__dbt_build" and "build_warehouse" in failed.failed_tasks
    with connect(sftp.warehouse_url) as conn:
        after = conn.execute("select md5(string_agg(t::text, ',' order by t::text)) "
                             "from marts.mart_crimes_by_lad_month t").fetchone()[0]
    assert after == before
