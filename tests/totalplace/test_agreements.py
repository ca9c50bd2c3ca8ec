"""Data-sharing agreements are enforced: no live agreement, no load; one key per agreement."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from totalplace import ingest
from totalplace.agreements import Agreements, NoAgreement, load_agreements
from totalplace.contracts import ContractError, get_contract, load_contracts
from totalplace.ingest.pseudonymise import load_key, pseudonym
from totalplace.warehouse import connect

AGREEMENT = {"id": "a", "title": "t", "purpose": "p", "lawful_basis": "b", "partners": ["Body"], "feeds": ["nhs/x"],
             "starts": "2026-01-01", "review": "2026-06-01", "expires": "2026-12-31", "retention_days": 30}


def test_every_feed_is_covered_by_exactly_the_agreements_file(settings):
    from totalplace.settings import PROJECT_ROOT

    load_agreements(PROJECT_ROOT / "agreements.yml").check(load_contracts(settings.feeds_dir))


def test_expired_and_missing_agreements_are_refused_with_the_reason():
    agreements = Agreements.model_validate({"agreements": [AGREEMENT]})
    assert agreements.for_file("Body", "nhs", "x", dt.date(2026, 6, 1)).id == "a"
    with pytest.raises(NoAgreement, match="expired on 2026-12-31"):
        agreements.for_file("Body", "nhs", "x", dt.date(2027, 1, 1))
    with pytest.raises(NoAgreement, match="no data-sharing agreement covers Other sending nhs/x"):
        agreements.for_file("Other", "nhs", "x", dt.date(2026, 6, 1))


def test_two_agreements_share_a_key_only_when_both_say_so():
    second = dict(AGREEMENT, id="b", key="a")
    with pytest.raises(ValueError, match="use the same pseudonymisation key"):
        Agreements.model_validate({"agreements": [AGREEMENT, second]})
    Agreements.model_validate({"agreements": [dict(AGREEMENT, joins_with=["b"]), dict(second, joins_with=["a"])]})
    with pytest.raises(ContractError, match="no agreement covers"):
        Agreements.model_validate({"agreements": [AGREEMENT]}).check({"nhs__x": None, "nhs__y": None})


def test_a_file_without_a_live_agreement_is_quarantined_and_loads_nothing(settings, tmp_path):
    from devtools.generate_data import write_hospital_admissions_csv

    doc = yaml.safe_load(settings.agreements_file.read_text())
    doc["agreements"] = [a for a in doc["agreements"] if a["id"] != "test-fixtures"]
    for a in doc["agreements"]:
        if a["id"] == "tp-person-cohorts":
            a["starts"], a["review"], a["expires"] = "2020-01-01", "2020-06-01", "2021-03-31"
    settings.agreements_file.write_text(yaml.safe_dump(doc))
    contract = get_contract(settings.feeds_dir, "nhs", "hospital_admissions")
    path = write_hospital_admissions_csv(tmp_path / "adm.csv", 20, [("E01000001", "City of London 001A")])
    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "quarantined"
    assert "tp-person-cohorts" in outcome.error and "expired on 2021-03-31" in outcome.error
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.nhs__hospital_admissions").fetchone()[0] == 0
        assert conn.execute("select count(*) from pg_tables where schemaname in ('landing', 'quarantine') "
                            "and tablename like 'nhs__hospital_admissions%'").fetchone()[0] == 0


def test_rows_trace_to_their_agreement_and_keys_differ_per_agreement(settings, tmp_path):
    from devtools.generate_data import write_hospital_admissions_csv

    contract = get_contract(settings.feeds_dir, "nhs", "hospital_admissions")
    path = write_hospital_admissions_csv(tmp_path / "adm.csv", 20, [("E01000001", "City of London 001A")])
    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        agreements = conn.execute("select array_agg(distinct _agreement) from raw.nhs__hospital_admissions").fetchone()[0]
        ledger = conn.execute("select agreement from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
        some = conn.execute("select nhs_number from raw.nhs__hospital_admissions limit 1").fetchone()[0]
    assert agreements == ["tp-person-cohorts"] == [ledger]
    cohort_key = load_key(settings.key_file("tp-person-cohorts"))
    other_key = load_key(settings.key_file("tp-open-and-aggregate"))
    assert cohort_key != other_key
    assert settings.key_file("tp-person-cohorts").stat().st_mode & 0o777 == 0o600
    number = next(line.split(",")[1] for line in path.read_text().splitlines()[1:]
                  if pseudonym(cohort_key, line.split(",")[1]) == some)
    assert pseudonym(other_key, number) != some
