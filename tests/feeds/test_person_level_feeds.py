"""Person-level extracts of four agencies about one population: published pseudonymised, linkable
by NHS number or match key - and a column of identifiers the contract does not declare is refused
with nothing of it kept."""

from __future__ import annotations

import csv

import pytest
from conftest import POLICE_SAMPLE, write_variant

from devtools import generate_people as gp
from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.ingest.pseudonymise import load_key, normal_name, pseudonym
from totalplace.warehouse import connect


@pytest.fixture
def people(settings):
    return gp.population(gp.read_postcodes(settings.postcode_lookup_file), 3000)


def test_offences_and_homelessness_cases_link_by_match_key_without_any_name(settings, tmp_path, people):
    offences = gp.write_offences_csv(tmp_path / "offences.csv", people, offenders=300)
    cases = gp.write_homelessness_cases_csv(tmp_path / "cases.csv", people, offences_csv=offences, cases=300)
    for agency, feed, path in (("police", "offences", offences), ("housing", "homelessness_cases", cases)):
        outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)
        assert outcome.status == "published", outcome.error
    with open(offences, newline="", encoding="utf-8") as fh:
        sent = list(csv.DictReader(fh))
    with connect(settings.warehouse_url) as conn:
        columns = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name in ('police__offences', 'housing__homelessness_cases')")}
        linked = conn.execute(
            "select count(distinct o.match_key) from raw.police__offences o "
            "join raw.housing__homelessness_cases h on h.match_key = o.match_key").fetchone()[0]
        keyed = conn.execute("select count(*) filter (where match_key is null), count(*), "
                             "count(*) filter (where home_lsoa_code is null) from raw.police__offences").fetchone()
        first = conn.execute("select match_key, year_of_birth, home_lsoa_code from raw.police__offences "
                             "where _row_number = 1").fetchone()
    assert not columns & {"forename", "surname", "date_of_birth"}
    assert linked > 10  # offenders who also approached the council as homeless (the generator makes some)
    assert keyed[0] == 0 and keyed[2] == 0 and keyed[1] == len(sent)
    # the match key is the keyed hash of the normalised name, full date of birth and postcode
    row = sent[0]
    day, month, year = row["Date of Birth"].split("/")
    expected = pseudonym(load_key(settings.key_file("tp-person-cohorts")),
                         f"{normal_name(row['Forename'])}|{normal_name(row['Surname'])}|{year}-{month}-{day}|"
                         f"{row['Home Postcode'].replace(' ', '').upper()}")
    lookup = dict(gp.read_postcodes(settings.postcode_lookup_file))
    assert first == (expected, int(year), lookup[row["Home Postcode"]])


def test_children_in_care_carry_a_checked_nhs_pseudonym(settings, tmp_path, people):
    path = gp.write_children_in_care_csv(tmp_path / "cic.csv", people)
    outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, "council", "children_in_care"), path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        valid, without, total = conn.execute(
            "select count(*) filter (where nhs_number_is_valid), count(*) filter (where nhs_number is null), count(*) "
            "from raw.council__children_in_care").fetchone()
    assert total == outcome.rows > 20 and valid + without == total and without > 0


@pytest.mark.parametrize(("where", "says"), [
    ("an extra column", "column(s) 11 (counting from 1) are not in the feed contract"),
    ("the Duty column", "'Duty' holds valid NHS numbers"),
])
def test_nhs_numbers_where_the_contract_declares_none_are_refused_and_nothing_of_them_is_kept(
        settings, tmp_path, people, where, says):
    """A person-level feed takes only its declared columns (an extra one, named by position, is refused
    before a byte is loaded); NHS numbers typed into a declared column that is not an identifier are
    found by their values and refused too."""
    path = gp.write_homelessness_cases_csv(tmp_path / "cases.csv", people, cases=50)
    lines = path.read_text().splitlines()
    numbers = [p.nhs for p in people[:49]]
    spaced = [f"{n[:3]} {n[3:6]} {n[6:]}" for n in numbers]
    if where == "an extra column":
        lines[0] += ",Client Ref"
        lines[1:] = [f"{line},{spaced[i % 49]}" for i, line in enumerate(lines[1:])]
    else:
        duty = lines[0].split(",").index("Duty")
        lines[1:] = [",".join(c if j != duty else spaced[i % 49] for j, c in enumerate(line.split(",")))
                     for i, line in enumerate(lines[1:])]
    path.write_text("\r\n".join(lines) + "\r\n")
    outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, "housing", "homelessness_cases"), path)
    assert outcome.status == "quarantined"
    assert says in outcome.error, outcome.error
    with connect(settings.warehouse_url) as conn:
        kept = conn.execute("select count(*) from pg_tables where schemaname in ('landing', 'quarantine') "
                            "and tablename like 'housing__homelessness_cases%'").fetchone()[0]
        report = conn.execute("select report::text from ops.file_ledger where file_id = %s",
                              (outcome.file_id,)).fetchone()[0]
    assert kept == 0
    assert not any(n in report or n[:3] + " " + n[3:6] in report for n in numbers)
    assert not (settings.files_dir / "housing" / "homelessness_cases" / str(outcome.file_id)).exists()


def test_a_header_naming_an_identifier_is_refused_even_when_the_values_look_harmless(settings, tmp_path):
    def add_column(rows):
        rows[0].append("Date of Birth")
        for row in rows[1:]:
            row.append("1990")

    path = write_variant(POLICE_SAMPLE, tmp_path / "street.csv", add_column)
    outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, "police", "street_crime"), path)
    assert outcome.status == "quarantined" and "'Date of Birth' names a person identifier" in outcome.error
