"""The other police feeds (data.police.uk formats, generated deterministically) and NHS Digital's
GP registered patients (a real extract): published whole, damaged copies quarantined."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from conftest import FIXTURES, data_rows, write_variant

from devtools.generate_data import london_lsoas, write_outcomes_csv, write_stop_and_search_csv
from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.reference import REFERENCE_DIR
from totalplace.warehouse import connect


def ingest_file(settings, agency, feed, path):
    return ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)


def test_stop_and_search_publishes_and_a_bad_timestamp_is_caught(settings, tmp_path):
    path = write_stop_and_search_csv(tmp_path / "2020-01-metropolitan-stop-and-search.csv", 500)
    outcome = ingest_file(settings, "police", "stop_and_search", path)
    assert (outcome.status, outcome.rows) == ("published", 500)
    with connect(settings.warehouse_url) as conn:
        first = conn.execute("select searched_at from raw.police__stop_and_search order by _row_number limit 1"
                             ).fetchone()[0]
    assert first.tzinfo is not None and first.year == 2020 and first.month == 1
    bad = write_variant(path, tmp_path / "bad.csv", lambda rows: rows[3].__setitem__(1, "yesterday"))
    report = ingest.check_file(settings, get_contract(settings.feeds_dir, "police", "stop_and_search"), bad)
    assert report["outcome"] == "failed"
    assert report["problems"][0]["column"] == "Date"
    assert report["problems"][0]["examples"] == [{"row": 3, "line": 4, "value": "yesterday"}]


def test_outcomes_publish(settings, tmp_path):
    lsoas = london_lsoas(REFERENCE_DIR / "ons_lsoa_lookup.csv", limit=50)
    path = write_outcomes_csv(tmp_path / "2020-01-metropolitan-outcomes.csv", 300, lsoas)
    outcome = ingest_file(settings, "police", "outcomes", path)
    assert (outcome.status, outcome.rows) == ("published", 300)


def test_gp_registered_patients_real_extract(settings):
    path = FIXTURES / "nhs" / "nhsd_gp-reg-pat-prac-all_2021-01.csv"
    outcome = ingest_file(settings, "nhs", "gp_registered_patients", path)
    assert outcome.status == "published", outcome.error
    assert outcome.rows == data_rows(path) == 6658
    with connect(settings.warehouse_url) as conn:
        extract_date, patients = conn.execute(
            "select min(extract_date), sum(number_of_patients) from raw.nhs__gp_registered_patients").fetchone()
    assert extract_date == date(2021, 1, 1)
    assert 60_000_000 < patients < 62_000_000  # England's registered list size, January 2021


@pytest.mark.parametrize("feed", ["ons_imd2019", "ons_lad_utla", "ons_lsoa_ccg"])
def test_reference_lookups_publish(settings, feed):
    outcome = ingest_file(settings, "reference", feed, REFERENCE_DIR / f"{feed}.csv")
    assert outcome.status == "published", outcome.error
    assert outcome.rows == data_rows(REFERENCE_DIR / f"{feed}.csv")


def test_timestamps_keep_their_offset(settings, tmp_path):
    path = tmp_path / "s.csv"
    header = ",".join(["Type", "Date", "Part of a policing operation", "Latitude", "Longitude", "Gender", "Age range",
                       "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search",
                       "Outcome", "Outcome linked to object of search", "Removal of more than just outer clothing"])
    path.write_text(header + "\nPerson search,2020-01-31T23:30:00+01:00,False,,,,,,,,,,,\n")
    outcome = ingest_file(settings, "police", "stop_and_search", path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        at = conn.execute("select searched_at from raw.police__stop_and_search").fetchone()[0]
    assert at == datetime(2020, 1, 31, 22, 30, tzinfo=UTC)
