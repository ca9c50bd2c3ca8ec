"""The `totalplace` command as a user runs it (a real subprocess, real warehouse and SFTP)."""

from __future__ import annotations

import csv
import io
import json

from conftest import POLICE_SAMPLE, damaged_police_sample, run_cli, write_variant

cli = run_cli


def test_validate_exit_codes_and_reports(settings, tmp_path):
    ok = cli(settings, "validate", "--feed", "police/street_crime", "--as", "city_of_london_police", str(POLICE_SAMPLE))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASSED" in ok.stdout and "797 rows" in ok.stdout

    bad = write_variant(POLICE_SAMPLE, tmp_path / "bad.csv", lambda rows: rows[1].__setitem__(1, "January"))
    failed = cli(settings, "validate", "--feed", "street_crime", "--as", "city_of_london_police", str(bad))
    assert failed.returncode == 1
    assert "Column 'Month'" in failed.stdout and "line 2: 'January'" in failed.stdout

    as_json = cli(settings, "validate", "--feed", "street_crime", "--as", "city_of_london_police", "--json", str(bad))
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["outcome"] == "failed"
    assert report["problems"][0]["examples"][0] == {"row": 1, "line": 2, "value": "January"}


def test_unknown_feed_is_one_readable_line_with_a_hint(settings):
    result = cli(settings, "validate", "--feed", "police/no_such_feed", str(POLICE_SAMPLE))
    assert result.returncode == 2
    assert "no feed police/no_such_feed" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_drop_then_ledger_and_sql(sftp):
    dropped = cli(sftp, "drop", "--as", "city_of_london_police", "--feed", "street_crime", str(POLICE_SAMPLE))
    assert dropped.returncode == 0, dropped.stderr
    from connectors.sftp import open_account

    with open_account(sftp, "city_of_london_police") as police:
        assert police.listdir("inbox/street_crime") == [POLICE_SAMPLE.name, POLICE_SAMPLE.name + ".done"]

    from totalplace import ingest
    from totalplace.contracts import get_contract

    contract = get_contract(sftp.feeds_dir, "police", "street_crime")
    [file_id] = ingest.fetch(sftp, contract)
    ingest.load(sftp, contract, file_id)
    ingest.validate(sftp, contract, file_id)
    ingest.publish(sftp, contract, file_id)

    ledger = cli(sftp, "ledger", "--as", "city_of_london_police", "--format", "json")
    assert ledger.returncode == 0
    [entry] = json.loads(ledger.stdout)
    assert (entry["status"], entry["rows"], entry["name"]) == ("published", 797, POLICE_SAMPLE.name)

    # the partner's view of a rejected file: which column, which rule, which lines - read as its own role
    damaged = damaged_police_sample(sftp.state_dir)
    assert ingest.ingest_local(sftp, contract, damaged).status == "quarantined"
    view = cli(sftp, "ledger", "--as", "city_of_london_police")
    assert view.returncode == 0, view.stderr
    assert "quarantined #" in view.stdout and "column Month: must be a month" in view.stdout
    assert "first on line(s) 3" in view.stdout and "2020-13" not in view.stdout
    other = cli(sftp, "ledger", "--as", "anytown_icb", "--format", "json")
    assert other.returncode == 0 and json.loads(other.stdout) == []  # another agency sees none of police's files

    query = cli(sftp, "sql", "select crime_type, count(*) as n from raw.police__street_crime "
                             "group by 1 order by 2 desc limit 2", "--format", "csv", "--as", "city_of_london_police")
    assert query.returncode == 0
    assert list(csv.reader(io.StringIO(query.stdout))) == [
        ["crime_type", "n"], ["Other theft", "197"], ["Violence and sexual offences", "110"]]

    refused = cli(sftp, "sql", "delete from raw.police__street_crime", "--as", "city_of_london_police")
    assert refused.returncode == 2 and "read-only" in refused.stderr


def test_a_run_whose_build_failed_does_not_say_the_warehouse_was_rebuilt():
    from types import SimpleNamespace

    from totalplace.cli import _warehouse_state

    failed = SimpleNamespace(transformed=True, dag_results=[SimpleNamespace(dag_id="transform__dbt_build", ok=False)])
    built = SimpleNamespace(transformed=True, dag_results=[SimpleNamespace(dag_id="transform__dbt_build", ok=True)])
    assert _warehouse_state(failed).startswith("not rebuilt")
    assert _warehouse_state(built) == "rebuilt"
    assert _warehouse_state(SimpleNamespace(transformed=False, dag_results=[])) == "unchanged"
