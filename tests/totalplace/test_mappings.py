"""Partner mappings (issue 20): a file whose headers the feed's names and the column scorer cannot
settle is quarantined with its candidates; `totalplace map` writes the body's mapping from it, for
review; the quarantined file, run again, publishes - read as the mapping says, and said so."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
import yaml
from conftest import run_cli

from totalplace import ingest
from totalplace.contracts import ContractError, get_contract
from totalplace.mappings import load_mapping, mapping_path
from totalplace.warehouse import connect

HEADER = "Body Name,Date,Transaction Number,Amount Paid,Amount Due,Supplier Name,Expense Area,Expense Type\n"


@pytest.fixture
def own_feeds(settings, tmp_path):
    """The test's own copy of the feeds folder: `map` writes a mapping file there, not in the project."""
    feeds = tmp_path / "feeds"
    shutil.copytree(settings.feeds_dir, feeds)
    return settings.model_copy(update={"feeds_dir": feeds})


def test_map_turns_a_quarantined_header_into_a_partner_mapping_and_the_file_publishes(own_feeds, tmp_path):
    s = own_feeds
    contract = get_contract(s.feeds_dir, "council", "spend_over_500")
    path = tmp_path / "two-amounts.csv"
    path.write_text(HEADER + "Anytown Council,17/02/2021,T1,100.00,90.00,ACME LTD,Parks,Plants\n"
                    "Anytown Council,18/02/2021,T2,250.50,0.00,SMITH LTD,Roads,Tarmac\n", encoding="utf-8")
    outcome = ingest.ingest_local(s, contract, path)
    assert outcome.status == "quarantined" and "'Amount Paid' (column 4" in outcome.error

    result = run_cli(s, "map", "--feed", "council/spend_over_500", "--as", "anytown", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    body = ingest.sender(s, contract, "anytown")
    assert body == "Anytown Council"  # the body ingest_local read the file as (the feed's first)
    written = mapping_path(s.feeds_dir, contract, body)
    doc = yaml.safe_load(written.read_text())
    assert doc == {"body": body, "feed": "council/spend_over_500", "columns": {"Amount Paid": "amount"}}
    assert "# CHECK 'Amount Paid' -> amount" in written.read_text()  # a guess, marked for the reviewer

    again = ingest.reprocess(s, contract, outcome.file_id)
    assert again.status == "published", again.error
    with connect(s.warehouse_url) as conn:
        amounts = [a for (a,) in conn.execute("select amount from raw.council__spend_over_500 where _file_id = %s "
                                              "order by _row_number", (outcome.file_id,))]
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert amounts == [Decimal("100.00"), Decimal("250.50")]
    assert any("read 'Amount Paid' as 'Amount' (the partner's mapping)" in w for w in report["warnings"])

    # a second run of map does not overwrite the reviewed file
    assert run_cli(s, "map", "--feed", "council/spend_over_500", "--as", "anytown", str(path)).returncode != 0


def test_a_mapping_naming_a_column_the_contract_lacks_is_an_error(own_feeds):
    s = own_feeds
    contract = get_contract(s.feeds_dir, "council", "spend_over_500")
    path = mapping_path(s.feeds_dir, contract, "Anytown Council")
    path.parent.mkdir(parents=True)
    path.write_text("body: Anytown Council\nfeed: council/spend_over_500\ncolumns: {Paid: amount_paid}\n")
    with pytest.raises(ContractError, match="names columns the contract does not have"):
        load_mapping(s.feeds_dir, contract, "Anytown Council")
