"""Feeds with no real public sample (person-level NHS and housing extracts, NHS spend, housing
statistics, council assets), generated deterministically with the mess real ones have: each
publishes whole, and no person identifier reaches the warehouse in clear."""

from __future__ import annotations

from decimal import Decimal

import pytest

from devtools import generate_data as gen
from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.identifiers import nhs_number_is_valid
from totalplace.ingest.pseudonymise import load_key, pseudonym
from totalplace.reference import REFERENCE_DIR
from totalplace.warehouse import connect

LOOKUP = REFERENCE_DIR / "ons_lsoa_lookup.csv"


@pytest.fixture(scope="module")
def lsoas():
    return gen.london_lsoas(LOOKUP, limit=300)


def ingest_file(settings, agency, feed, path):
    return ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)


def test_nhs_numbers_are_checked_and_pseudonymised_before_landing(settings, tmp_path, lsoas):
    path, facts = gen.write_ae_attendances_csv(tmp_path / "ae-2021-04.csv", 900, lsoas, people=300)
    assert facts["invalid"] > 0  # the generator's wrong check digits
    outcome = ingest_file(settings, "nhs", "ae_attendances", path)
    assert (outcome.status, outcome.rows) == ("published", 900), outcome.error
    with connect(settings.warehouse_url) as conn:
        people, invalid, years = conn.execute(
            "select count(distinct nhs_number), count(distinct nhs_number) filter (where not nhs_number_is_valid), "
            "min(year_of_birth) from raw.nhs__ae_attendances").fetchone()
        text = conn.execute("select string_agg(t::text, ' ') from raw.nhs__ae_attendances t").fetchone()[0]
        hashes = {h for (h,) in conn.execute("select distinct nhs_number from raw.nhs__ae_attendances")}
        cost = conn.execute("select sum(cost) from raw.nhs__ae_attendances").fetchone()[0]
        senders = conn.execute("select array_agg(distinct _sent_by), (select sent_by from ops.file_ledger "
                               "where file_id = %s) from raw.nhs__ae_attendances", (outcome.file_id,)).fetchone()
    assert people == len(facts["nhs_numbers"]) and invalid == facts["invalid"]
    assert 1930 <= years <= 2020
    # not one NHS number, with or without spaces, anywhere in the published rows
    assert not any(n in text or f"{n[:3]} {n[3:6]} {n[6:]}" in text for n in facts["nhs_numbers"])
    # the same key gives the same pseudonym: linkable across feeds, not reversible without the key
    key = load_key(settings.key_file("tp-person-cohorts"))
    assert hashes == {pseudonym(key, n) for n in facts["nhs_numbers"]}
    assert cost > Decimal(0)
    # every published row knows the partner body that sent it (partners.yml), as the ledger does
    assert senders == (["Anytown Integrated Care Board"], "Anytown Integrated Care Board")


def test_nhs_number_check_digit():
    assert nhs_number_is_valid("9434765919")
    assert not nhs_number_is_valid("9434765918")
    assert not nhs_number_is_valid("943476591")


def test_hospital_admissions_publish_with_years_of_birth_only(settings, tmp_path, lsoas):
    path = gen.write_hospital_admissions_csv(tmp_path / "apc-2021-04.csv", 400, lsoas)
    outcome = ingest_file(settings, "nhs", "hospital_admissions", path)
    assert (outcome.status, outcome.rows) == ("published", 400), outcome.error
    with connect(settings.warehouse_url) as conn:
        lengths = conn.execute("select min(length(nhs_number)), max(length(nhs_number)), bool_and(nhs_number_is_valid) "
                               "from raw.nhs__hospital_admissions").fetchone()
        columns = [c for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'nhs__hospital_admissions'")]
    assert lengths == (64, 64, True)
    assert "year_of_birth" in columns and not any("dob" in c or "date_of_birth" in c for c in columns)


def test_nhs_spend_reconciles_with_its_total_row(settings, tmp_path):
    path = gen.write_nhs_spend_over_25k_csv(tmp_path / "icb-spend-2021-04.csv", 60)
    outcome = ingest_file(settings, "nhs", "spend_over_25k", path)
    assert (outcome.status, outcome.rows) == ("published", 60), outcome.error
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    [total] = report["file_totals"]
    assert total["label"] == "Total" and total["amount"] == report["control_totals"]["amount"]


def test_homelessness_suppressed_counts_are_null_and_flagged(settings, tmp_path):
    lads = gen.london_lads(LOOKUP)
    path = gen.write_homelessness_csv(tmp_path / "hclic-2021-q1.csv", lads)
    outcome = ingest_file(settings, "housing", "homelessness", path)
    assert (outcome.status, outcome.rows) == ("published", 33), outcome.error
    markers = sum(1 for line in path.read_text(encoding="utf-8-sig").splitlines() if line.endswith((",..", ",x")))
    with connect(settings.warehouse_url) as conn:
        flagged, zero = conn.execute(
            "select count(*) filter (where main_duty_owed_suppressed and main_duty_owed is null), "
            "count(*) filter (where main_duty_owed = 0) from raw.housing__homelessness").fetchone()
    assert flagged == markers > 0 and zero == 0


def test_social_lettings_workbook_pseudonymises_tenant_references(settings, tmp_path, lsoas):
    lads = gen.london_lads(LOOKUP)
    path = gen.write_social_lettings_xlsx(tmp_path / "lettings-2021-04.xlsx", 250, lsoas, lads)
    outcome = ingest_file(settings, "housing", "social_lettings", path)
    assert (outcome.status, outcome.rows) == ("published", 250), outcome.error
    with connect(settings.warehouse_url) as conn:
        refs = conn.execute("select count(*) filter (where tenant_ref ~ '^T[0-9]'), min(length(tenant_ref)), "
                            "min(letting_date), max(letting_date) from raw.housing__social_lettings").fetchone()
    assert refs[0] == 0 and refs[1] == 64
    assert refs[2].isoformat() >= "2021-04-01" and refs[3].isoformat() <= "2021-04-28"


def test_dwelling_stock_england_row_is_recorded_not_loaded(settings, tmp_path):
    lads = gen.london_lads(LOOKUP)
    path = gen.write_dwelling_stock_csv(tmp_path / "dwelling-stock-2021.csv", lads)
    outcome = ingest_file(settings, "housing", "dwelling_stock", path)
    assert (outcome.status, outcome.rows) == ("published", 33), outcome.error
    with connect(settings.warehouse_url) as conn:
        names = conn.execute("select count(*) filter (where la_name = 'England'), sum(total) "
                             "from raw.housing__dwelling_stock").fetchone()
    england = path.read_text().splitlines()[-1].split('"')[-2]
    assert names == (0, int(england.replace(",", "")))


def test_land_assets_in_windows_1252(settings, tmp_path):
    path = gen.write_land_assets_csv(tmp_path / "assets.csv", 120)
    outcome = ingest_file(settings, "council", "land_assets", path)
    assert (outcome.status, outcome.rows) == ("published", 120), outcome.error
    with connect(settings.warehouse_url) as conn:
        cafes = conn.execute("select count(*) from raw.council__land_assets where asset_type = 'Café'").fetchone()[0]
    assert cafes > 0
