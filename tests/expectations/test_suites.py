"""Expectation suites are derived from the contract: every rule of the contract becomes a GX expectation."""

from __future__ import annotations

from expectations.suites import build_suite, expectation_specs
from totalplace.contracts import load_contract
from totalplace.settings import PROJECT_ROOT


def test_police_suite_covers_every_rule_of_the_contract():
    contract = load_contract(PROJECT_ROOT / "feeds" / "police" / "street_crime.yml")
    specs = {(name, kwargs.get("column")) for name, kwargs, _ in expectation_specs(contract)}
    assert ("ExpectColumnValuesToNotBeNull", "crime_type") in specs
    assert ("ExpectColumnValuesToBeNull", "month__invalid") in specs
    assert ("ExpectColumnValuesToBeNull", "longitude__invalid") in specs
    assert ("ExpectColumnValueLengthsToEqual", "crime_id") in specs
    assert ("ExpectColumnValuesToMatchRegex", "lsoa_code") in specs
    assert ("ExpectColumnValuesToBeBetween", "longitude") in specs
    assert ("ExpectColumnValuesToBeBetween", "latitude") in specs
    assert ("ExpectColumnValuesToBeInSet", "crime_type") in specs
    assert ("ExpectTableRowCountToBeBetween", None) in specs
    import great_expectations as gx

    gx.get_context(mode="ephemeral")
    suite = build_suite(contract)
    assert suite.name == "police.street_crime.landing"
    assert len(suite.expectations) == len(expectation_specs(contract))
    # every expectation carries the sender-facing rule and the contract column it checks
    assert all(e.meta and e.meta.get("rule") for e in suite.expectations)
