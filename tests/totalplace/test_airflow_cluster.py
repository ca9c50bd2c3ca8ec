"""The deployed path: `totalplace airflow --workers 2` - API server, scheduler, DAG processor, triggerer,
Redis and two Celery workers on a PostgreSQL metadata database - takes files that partners of every
agency type (police, council, NHS, housing) drop at once, with no command: the triggerer's watchers
start each feed's ingest, the scheduler hands the tasks to both workers, the marts are rebuilt and the
site rewritten.

The books are checked after: every file dropped ends published or quarantined with a report, each
published file's rows are in raw once, no task failed or was retried, no deadlock in any log, and both
workers ran tasks (recorded per task instance)."""

from __future__ import annotations

import csv
import os
import time
import uuid

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from devtools.airflow_running import RunningAirflow, drop, until
from devtools.generate_data import london_lads, write_homelessness_csv
from totalplace.airflow_env import settings_environment
from totalplace.reference import REFERENCE_DIR
from totalplace.settings import PROJECT_ROOT
from totalplace.warehouse import connect, sqlalchemy_url

pytestmark = pytest.mark.slow

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _damaged(tmp_path):
    """A street-crime month with a broken line: a partner's file that must be quarantined, not stop the rest."""
    source = (FIXTURES / "police" / "2020-01-city-of-london-street.csv").read_text(encoding="utf-8")
    lines = source.replace("2020-01", "2020-03").splitlines()
    lines[5] = lines[5].split(",", 1)[0] + ",not a month,,,,,,,,,,"
    path = tmp_path / "2020-03-city-of-london-street.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_files_of_every_agency_dropped_at_once_are_taken_by_the_scheduler_on_two_celery_workers(
        settings, warehouse_url, tmp_path):
    metadata = f"airflow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(f'create database "{metadata}"')
    env = {**os.environ, **settings_environment(settings),
           "TOTALPLACE_AIRFLOW_HOME_DIR": str(tmp_path / "airflow"),
           "TOTALPLACE_AIRFLOW_DATABASE_URL": sqlalchemy_url(make_conninfo(warehouse_url, dbname=metadata)),
           "TOTALPLACE_INBOX_POLL_SECONDS": "1"}
    airflow = RunningAirflow(env, tmp_path / "airflow.log", workers=2)
    homelessness = write_homelessness_csv(tmp_path / "homelessness-2021-Q1.csv",
                                          london_lads(REFERENCE_DIR / "ons_lsoa_lookup.csv"))
    drops = [  # (account, feed, file): every agency type, three councils on one feed, one damaged file
        ("city_of_london_police", "street_crime", FIXTURES / "police" / "2020-01-city-of-london-street.csv"),
        ("city_of_london_police", "street_crime", _damaged(tmp_path)),
        ("devon", "spend_over_500", FIXTURES / "council" / "devon_DCCSpendingOver500_202504.csv"),
        ("leeds", "spend_over_500", FIXTURES / "council" / "leeds_spending_2020-06.csv"),
        ("oxford", "spend_over_500", FIXTURES / "council" / "oxford_expenditure-over-500-jul-sep-2014.csv"),
        ("anytown_icb", "gp_registered_patients", FIXTURES / "nhs" / "nhsd_gp-reg-pat-prac-all_2021-01.csv"),
        ("mhclg", "revenue_outturn", FIXTURES / "finance" / "mhclg_RA_2021-22_data_by_LA.csv"),
        ("anytown_homes", "homelessness", homelessness),
    ]
    try:
        airflow.login()
        needed = {"ingest_police__street_crime", "ingest_council__spend_over_500", "ingest_nhs__gp_registered_patients",
                  "ingest_council__revenue_outturn", "ingest_housing__homelessness", "transform__dbt_build",
                  "publish__place_profiles"}
        assert until(lambda: needed <= airflow.dag_ids(), 240, step=3), airflow.dag_ids()
        time.sleep(5)  # the triggerer picks up the watchers of DAGs it has just been given
        started = time.time()
        for account, feed, path in drops:
            drop(env, account, feed, path)

        def outcomes():
            with connect(settings.warehouse_url) as conn:
                rows = conn.execute("select name, status, rows, file_id, report from ops.file_ledger "
                                    "where agency <> 'reference'").fetchall()
            return rows if len(rows) == len(drops) and all(
                r[1] in ("published", "quarantined") for r in rows) else None

        files = until(outcomes, 300, step=2)
        assert files, (airflow.runs(), (tmp_path / "airflow.log").read_text()[-2000:])
        published_at = time.time()
        by_name = {name: (status, rows, file_id, report) for name, status, rows, file_id, report in files}
        assert by_name["2020-03-city-of-london-street.csv"][0] == "quarantined"
        assert by_name["2020-03-city-of-london-street.csv"][3]["problems"], "a quarantine has its report"
        assert by_name["2020-01-city-of-london-street.csv"][0] == "published"

        # the marts rebuilt with every published file, then the site rewritten - by the scheduler alone
        published = {file_id for status, _, file_id, _ in by_name.values() if status == "published"}

        def built_with_every_file():
            with connect(settings.warehouse_url) as conn:
                build = conn.execute("select published_at, published_files from ops.warehouse_builds "
                                     "order by published_at desc limit 1").fetchone()
            index = settings.site_dir / "index.html"
            return build is not None and published <= set(build[1]) and index.exists() and (
                index.stat().st_mtime > build[0].timestamp())

        assert until(built_with_every_file, 400, step=2), [(r["dag_id"], r["state"], r["start_date"], r["end_date"])
                                                           for r in airflow.runs()]
        done = time.time()

        # the books: each published file's rows are in raw once; the police file's every data line
        with connect(settings.warehouse_url) as conn:
            for name, (status, rows, file_id, _) in by_name.items():
                if status != "published":
                    continue
                agency_feed = conn.execute("select agency || '__' || feed from ops.file_ledger where file_id = %s",
                                           (file_id,)).fetchone()[0]
                in_raw = conn.execute(f"select count(*) from raw.{agency_feed} where _file_id = %s",
                                      (file_id,)).fetchone()[0]
                assert in_raw == rows, name
            crimes = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
        with (FIXTURES / "police" / "2020-01-city-of-london-street.csv").open(newline="", encoding="utf-8") as fh:
            assert crimes == sum(1 for _ in csv.DictReader(fh))

        # every task succeeded the first time; both workers worked; no deadlock anywhere (once the runs
        # the last asset events started - a build that finds nothing new - have ended)
        assert until(lambda: all(r["state"] in ("success", "failed") for r in airflow.runs()), 180, step=2), [
            (r["dag_id"], r["state"]) for r in airflow.runs() if r["state"] not in ("success", "failed")]
        tis = [t for t in airflow.task_instances() if t["state"] is not None]
        assert tis
        # (the hourly sweep's start_ingest is skipped when no file waits unannounced)
        assert not [t for t in tis if t["state"] not in ("success", "skipped")], [
            (t["dag_id"], t["task_id"], t["state"]) for t in tis if t["state"] != "success"]
        assert not [t for t in tis if t["try_number"] > 1], "no task was retried"
        ran = [t for t in tis if t["state"] == "success"]
        assert all(t["hostname"].startswith("worker") for t in ran), "each task says which worker ran it"
        hosts = {t["hostname"].split("@")[0] for t in ran}
        assert {"worker1", "worker2"} <= hosts, hosts
        logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "airflow").rglob("*.log"))
        assert "deadlock detected" not in logs.lower()
        print(f"\n{len(drops)} files of every agency type: all outcomes {published_at - started:.0f} s after the "
              f"last drop began, marts and site {done - started:.0f} s; tasks per worker: "
              + ", ".join(f"{h} {sum(1 for t in ran if t['hostname'].startswith(h + '@'))}" for h in sorted(hosts)))
    finally:
        airflow.stop()
        from totalplace import sftp_server

        sftp_server.stop_background(settings)
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{metadata}" with (force)')
