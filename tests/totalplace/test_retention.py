"""Retention: move the clock past an agreement's retention and nothing past it is left - rows,
kept bytes or quarantined rows - while the ledger keeps the hash, counts and status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import POLICE_SAMPLE, write_variant

from devtools.generate_data import write_hospital_admissions_csv
from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.retention import past_retention, purge_expired
from totalplace.warehouse import connect


def leftovers(settings) -> dict[str, int]:
    with connect(settings.warehouse_url) as conn:
        return {
            "nhs rows": conn.execute("select count(*) from raw.nhs__hospital_admissions").fetchone()[0],
            "police rows": conn.execute("select count(*) from raw.police__street_crime").fetchone()[0],
            "quarantine tables": conn.execute(
                "select count(*) from pg_tables where schemaname = 'quarantine'").fetchone()[0],
            "kept files": sum(1 for p in settings.files_dir.rglob("*") if p.is_file()),
        }


def test_nothing_is_kept_past_its_retention(settings, tmp_path):
    adm = write_hospital_admissions_csv(tmp_path / "adm.csv", 30, [("E01000001", "City of London 001A")])
    damaged = write_variant(POLICE_SAMPLE, tmp_path / "damaged.csv", lambda rows: rows[1].__setitem__(1, "2020-13"))
    outcomes = [ingest.ingest_local(settings, get_contract(settings.feeds_dir, a, f), p) for a, f, p in (
        ("nhs", "hospital_admissions", adm), ("police", "street_crime", POLICE_SAMPLE),
        ("police", "street_crime", damaged))]
    assert [o.status for o in outcomes] == ["published", "published", "quarantined"]
    # a person-level file's copy goes as soon as it has an outcome (its rows are in raw, pseudonymised)
    assert leftovers(settings) == {"nhs rows": 30, "police rows": 797, "quarantine tables": 1, "kept files": 2}
    now = datetime.now(UTC)

    # tomorrow: nothing is due
    assert purge_expired(settings, now + timedelta(days=1)).files == []
    # after the quarantine period (90 days): the quarantined file goes, published ones stay
    assert purge_expired(settings, now + timedelta(days=91)).files == [outcomes[2].file_id]
    assert leftovers(settings) == {"nhs rows": 30, "police rows": 797, "quarantine tables": 0, "kept files": 1}
    # past the person-level agreement's 730 days: the NHS rows and bytes go; open data (3650 days) stays
    purged = purge_expired(settings, now + timedelta(days=731))
    assert purged.files == [outcomes[0].file_id] and purged.rows == 30
    assert leftovers(settings) == {"nhs rows": 0, "police rows": 797, "quarantine tables": 0, "kept files": 1}
    # ten years on, nothing at all is left; run again, nothing more happens
    purge_expired(settings, now + timedelta(days=3651))
    assert leftovers(settings) == {"nhs rows": 0, "police rows": 0, "quarantine tables": 0, "kept files": 0}
    assert purge_expired(settings, now + timedelta(days=4000)).files == []
    assert past_retention(settings, now + timedelta(days=4000)) == []

    with connect(settings.warehouse_url) as conn:
        ledger = conn.execute("select status, rows, sha256 is not null, purged_at is not null from ops.file_ledger "
                              "order by file_id").fetchall()
        purges = conn.execute("select count(*) from ops.audit_log where action = 'purge'").fetchone()[0]
    assert ledger == [("published", 30, True, True), ("published", 797, True, True), ("quarantined", 797, True, True)]
    assert purges == 3


def test_the_retention_dag_purges_as_of_a_date(settings, airflow_home, tmp_path):
    from totalplace import airflow_runner

    adm = write_hospital_admissions_csv(tmp_path / "adm.csv", 10, [("E01000001", "City of London 001A")])
    ingest.ingest_local(settings, get_contract(settings.feeds_dir, "nhs", "hospital_admissions"), adm)
    airflow_runner.prepare_process(settings, settings.warehouse_url)
    dag = airflow_runner.load_dags(settings)["ops__retention"]
    later = (datetime.now(UTC) + timedelta(days=800)).date().isoformat()
    result = airflow_runner.test_dag(dag, as_of=later)
    assert result.ok, result
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.nhs__hospital_admissions").fetchone()[0] == 0
