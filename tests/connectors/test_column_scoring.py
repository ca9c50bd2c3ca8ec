"""The column scorer on its own (no database): names loosely normalised, content by type, and an
assignment only when one candidate is clearly best."""

from __future__ import annotations

import pytest

from connectors.column_scoring import content_fit, name_score, resolve, words
from connectors.header import match_header
from totalplace.contracts import get_contract
from totalplace.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def spend():
    return get_contract(PROJECT_ROOT / "feeds", "council", "spend_over_500")


def test_header_words_drop_units_currency_and_spell_out_abbreviations():
    assert words("Net Amount(£)") == ("net", "amount")
    assert words("Trans. No") == ("transaction", "number")
    assert words("  AMOUNT (GBP) ") == ("amount",)


def test_names_score_by_shared_words(spend):
    amount, supplier = spend.column_by_name["amount"], spend.column_by_name["supplier_name"]
    assert name_score("Net Amount(£)", amount) == 1.0
    assert name_score("Amount Paid", amount) == 0.75
    assert name_score("Name", supplier) == 0.5
    assert name_score("Expense Type", amount) == 0.0


def test_content_fits_the_column_type(spend):
    date, amount, supplier = (spend.column_by_name[c] for c in ("payment_date", "amount", "supplier_name"))
    assert content_fit(["17/02/2021", "3 Apr 2023", ""], date) == 1.0
    assert content_fit(["1,043.00-", "12.5", "n/a"], amount) == 0.67
    assert content_fit(["4001", "ACME LTD"], supplier) == 0.5  # a code column is not a name
    assert content_fit(["", " "], amount) == 0.5  # nothing to judge by


def _resolve(spend, headers, rows):
    match = match_header(headers, spend)
    samples = {i: [r[i] for r in rows] for i in range(len(headers))}
    return match, resolve(headers, match.targets, spend, match.missing, match.duplicates, samples)


def test_a_clear_best_is_read_and_said(spend):
    headers = ["Date", "Transaction Number", "Amount Paid", "Name", "Expense Area", "Expense Type"]
    rows = [["17/02/2021", "T1", "100.00", "ACME LTD", "Parks", "Plants"]] * 3
    match, found = _resolve(spend, headers, rows)
    assert set(match.missing) == {"Amount", "Supplier Name"}
    assert found.assigned == {2: "amount", 3: "supplier_name"}
    assert any("read 'Amount Paid' (column 3) as 'Amount'" in n for n in found.notes)


def test_two_candidates_alike_are_not_guessed(spend):
    headers = ["Date", "Transaction Number", "Amount Paid", "Amount Due", "Supplier Name", "Expense Area", "Expense Type"]
    rows = [["17/02/2021", "T1", "100.00", "90.00", "ACME LTD", "Parks", "Plants"]] * 3
    _, found = _resolve(spend, headers, rows)
    assert found.assigned == {}
    assert [c.header for c in found.candidates["amount"]][:2] == ["Amount Paid", "Amount Due"]


def test_a_name_without_fitting_values_is_not_read(spend):
    headers = ["Date", "Transaction Number", "Amount Paid", "Supplier Name", "Expense Area", "Expense Type"]
    rows = [["17/02/2021", "T1", "see note", "ACME LTD", "Parks", "Plants"]] * 3
    _, found = _resolve(spend, headers, rows)
    assert found.assigned == {} and found.candidates["amount"][0].content == 0.0


def test_a_repeated_header_of_a_code_and_its_description(spend):
    headers = ["Date", "Transaction Number", "Amount", "Supplier Name", "Expense Area", "Expense Type", "Expense Type"]
    rows = [["17/02/2021", "T1", "100.00", "ACME LTD", "Parks", "4001", "Plants"]] * 3
    match, found = _resolve(spend, headers, rows)
    assert match.duplicates == ["Expense Type"]
    assert found.set_aside == {6: "a second 'Expense Type' (column 7), kept aside: column 6 is read as 'Expense Type'"}


def test_a_repeated_money_header_is_read_where_the_money_is(spend):
    headers = ["Date", "Transaction Number", "Amount", "Amount", "Supplier Name", "Expense Area", "Expense Type"]
    rows = [["17/02/2021", "T1", "VAT incl.", "100.00", "ACME LTD", "Parks", "Plants"]] * 3
    _, found = _resolve(spend, headers, rows)
    assert found.assigned == {3: "amount"} and 2 in found.set_aside
