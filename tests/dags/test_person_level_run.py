"""Four agencies drop person-level extracts about one population over SFTP; the DAGs publish them
pseudonymised and build the cohort marts - and a scan of every text column of every table finds
no NHS number, date of birth or postcode in clear, and no published count of 1-7 people."""

from __future__ import annotations

import pytest

from connectors.sftp import open_account
from totalplace import generate_data as gen
from totalplace import generate_people as gp
from totalplace import pipeline
from totalplace.privacy_scan import scan
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow


def test_cohorts_are_built_from_pseudonyms_and_nothing_identifying_is_left(sftp, airflow_home, tmp_path):
    people = gp.population(gp.read_postcodes(sftp.postcode_lookup_file), 4000)
    offences = gp.write_offences_csv(tmp_path / "offences.csv", people, offenders=600)
    drops = [
        ("police", "offences", offences),
        ("council", "children_in_care", gp.write_children_in_care_csv(tmp_path / "cic.csv", people)),
        ("housing", "homelessness_cases",
         gp.write_homelessness_cases_csv(tmp_path / "cases.csv", people, offences_csv=offences, cases=400)),
        ("nhs", "ae_attendances", gen.write_ae_attendances_csv(tmp_path / "ae.csv", 1500, [], population=people)[0]),
        ("nhs", "hospital_admissions",
         gen.write_hospital_admissions_csv(tmp_path / "adm.csv", 600, [], population=people)),
    ]
    for agency, feed, path in drops:
        with open_account(sftp, agency) as account:
            account.upload(path, feed)
    summary = pipeline.run_all(sftp)
    assert summary.ok, [(r.dag_id, r.state, r.failed_tasks) for r in summary.dag_results]
    assert sorted(f.status for f in summary.files) == ["published"] * 5

    with connect(sftp.warehouse_url) as conn:
        result = scan(conn, sftp.feeds_dir)
        cohort = dict(conn.execute(
            "select agencies_known_to, people from marts.mart_multi_agency_cohort "
            "where financial_year = '2021-22' and place_code = 'all'").fetchall())
        curve = dict(conn.execute(
            "select top_percent, share_of_offences_percent from marts.mart_offending_concentration "
            "where financial_year = '2021-22' and place_code = 'all'").fetchall())
        small = conn.execute(
            "select count(*) from (select people as n from marts.mart_multi_agency_cohort union all "
            "select offenders from marts.mart_offending_concentration union all "
            "select children_in_care from marts.mart_children_in_care union all "
            "select people from marts.mart_service_transitions) as counts where n between 1 and 7").fetchone()[0]
        owners = dict(conn.execute("select schemaname, string_agg(distinct tableowner, ',') from pg_tables "
                                   "where schemaname in ('raw', 'marts', 'reference') "
                                   "group by 1").fetchall())
        linked = conn.execute("select count(distinct person_id) from intermediate.int_people_by_year "
                              "where agencies >= 2").fetchone()[0]
    # the pipelines ran as their roles, not as a superuser: each owns what it wrote
    assert owners == {"raw": "loader", "marts": "transformer",
                      "reference": "transformer"}
    assert result.findings == [], [str(f) for f in result.findings]
    assert result.tables > 30 and result.columns > 300
    assert result.exempt[0] == "raw.council__land_assets.postcode"
    assert small == 0
    # people linked across agencies: through the NHS number, or the name + birth date + postcode key
    assert linked > 50 and cohort["all"] >= 1000
    # offending is concentrated: the top 2% commit a far larger share than 2%
    assert curve[100] == 100 and curve[2] > 10

    # the scan is not blind: an NHS number or a postcode planted in a report is found
    with connect(sftp.warehouse_url) as conn:
        conn.execute("update ops.file_ledger set error = 'patient 943 476 5919 at QA1 1AA' "
                     "where file_id = (select min(file_id) from ops.file_ledger)")
        planted = scan(conn, sftp.feeds_dir).findings
    assert sorted(f.kind for f in planted) == ["a full postcode", "a valid NHS number (1 of 1 ten-digit numbers)"]
