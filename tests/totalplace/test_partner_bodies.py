"""Partners are bodies (issue 20): which body sent a file is decided one way - by the SFTP account it
came from (partners.yml) - in a run, in ``validate`` and in ``reprocess``; a body's own header mapping
and agreement apply to its files; a file refused for the platform's own configuration may be sent
again once that is fixed; and a duplicate of another body's file does not name that body's file."""

from __future__ import annotations

import shutil

import pytest
import yaml
from conftest import run_cli

from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.mappings import mapping_path, write_mapping
from totalplace.warehouse import connect

# two amount columns: the feed's names cannot tell which is the payment - Leeds's mapping can
HEADER = "Date,Transaction Number,Amount Paid,Amount Due,Supplier Name,Expense Area,Expense Type\n"
LINES = "17/02/2021,T1,100.00,90.00,ACME LTD,Parks,Plants\n18/02/2021,T2,250.50,0.00,SMITH LTD,Roads,Tarmac\n"


@pytest.fixture
def leeds_mapped(sftp, tmp_path):
    """The test's own feeds folder, in which Leeds (alone) has a mapping for its spend files."""
    feeds = tmp_path / "feeds"
    shutil.copytree(sftp.feeds_dir, feeds)
    s = sftp.model_copy(update={"feeds_dir": feeds})
    contract = get_contract(feeds, "council", "spend_over_500")
    write_mapping(mapping_path(feeds, contract, "Leeds City Council"), "Leeds City Council", contract,
                  {"Amount Paid": "amount"}, [])
    return s


def test_validate_and_the_run_read_a_file_as_its_sending_bodys(leeds_mapped, tmp_path):
    s = leeds_mapped
    path = tmp_path / "leeds-spend.csv"
    path.write_text(HEADER + LINES)
    # several councils send this feed: validate does not guess whose file it is
    unsaid = run_cli(s, "validate", "--feed", "council/spend_over_500", str(path))
    assert unsaid.returncode == 2 and "say which with --as" in unsaid.stderr, unsaid.stdout + unsaid.stderr
    as_leeds = run_cli(s, "validate", "--feed", "council/spend_over_500", "--as", "leeds", str(path))
    assert as_leeds.returncode == 0, as_leeds.stdout + as_leeds.stderr
    assert "the partner's mapping" in as_leeds.stdout
    as_devon = run_cli(s, "validate", "--feed", "council/spend_over_500", "--as", "devon", str(path))
    assert as_devon.returncode == 1 and "Amount Paid" in as_devon.stdout  # Devon has no such mapping
    wrong = run_cli(s, "validate", "--feed", "council/spend_over_500", "--as", "met_police", str(path))
    assert wrong.returncode == 2 and "does not send council/spend_over_500" in wrong.stderr

    # the run: dropped on Leeds's account, read with Leeds's mapping, recorded as Leeds's, answered there
    dropped = run_cli(s, "drop", "--as", "leeds", "--feed", "spend_over_500", str(path))
    assert dropped.returncode == 0, dropped.stderr
    contract = get_contract(s.feeds_dir, "council", "spend_over_500")
    [file_id] = ingest.fetch(s, contract)
    ingest.load(s, contract, file_id)
    ingest.validate(s, contract, file_id)
    assert ingest.publish(s, contract, file_id).status == "published"
    with connect(s.warehouse_url) as conn:
        ledger = conn.execute("select sent_by, account from ops.file_ledger where file_id = %s", (file_id,)).fetchone()
        rows = conn.execute("select body_name, _sent_by, amount::text from raw.council__spend_over_500 "
                            "where _file_id = %s order by _row_number", (file_id,)).fetchall()
    assert ledger == ("Leeds City Council", "leeds")
    assert rows == [("Leeds City Council", "Leeds City Council", "100.00"),
                    ("Leeds City Council", "Leeds City Council", "250.50")]
    from connectors.sftp import open_account

    with open_account(s, "leeds") as leeds:
        assert "leeds-spend.csv.published.txt" in leeds.listdir("outbox/spend_over_500")
    with open_account(s, "devon") as devon:
        assert devon.listdir("outbox") == []  # nothing of Leeds's reaches another council's account


def test_a_file_refused_for_the_platforms_configuration_may_be_sent_again(settings, tmp_path):
    """No agreement covered the sender: the refusal is the platform's, so the same bytes, sent again
    once the agreement is fixed, are a new try - not a duplicate of the refused file."""
    from totalplace.settings import PROJECT_ROOT

    doc = yaml.safe_load((PROJECT_ROOT / "agreements.yml").read_text())
    for agreement in doc["agreements"]:
        agreement["partners"] = [p for p in agreement["partners"] if p != "Oxford City Council"]
    (tmp_path / "without-oxford.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    lapsed = settings.model_copy(update={"agreements_file": tmp_path / "without-oxford.yml"})
    contract = get_contract(settings.feeds_dir, "council", "spend_over_500")
    path = tmp_path / "oxford.csv"
    path.write_text(HEADER.replace("Amount Paid,Amount Due", "Amount") + "17/02/2021,T1,100.00,ACME LTD,Parks,Plants\n")
    refused = ingest.ingest_local(lapsed, contract, path, account="oxford")
    assert refused.status == "quarantined" and "agreement" in refused.error
    again = ingest.ingest_local(settings, contract, path, account="oxford")  # the agreement now covers Oxford
    assert again.status == "published", again.error
    # a refusal for the file's own content is final: the same bytes again are a duplicate
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER.replace("Amount Paid,Amount Due", "Amount") + "31/02/2021,T1,100.00,ACME LTD,Parks,Plants\n")
    assert ingest.ingest_local(settings, contract, bad, account="oxford").status == "quarantined"
    assert ingest.ingest_local(settings, contract, bad, account="oxford").status == "duplicate"


def test_a_duplicate_of_another_bodys_file_does_not_name_it(settings, tmp_path):
    contract = get_contract(settings.feeds_dir, "council", "spend_over_500")
    path = tmp_path / "devon-secret-name.csv"
    path.write_text(HEADER.replace("Amount Paid,Amount Due", "Amount") + "17/02/2021,T1,100.00,ACME LTD,Parks,Plants\n")
    assert ingest.ingest_local(settings, contract, path, account="devon").status == "published"
    copy = tmp_path / "leeds.csv"
    shutil.copyfile(path, copy)
    dup = ingest.ingest_local(settings, contract, copy, account="leeds")
    assert dup.status == "duplicate"
    assert "devon-secret-name" not in dup.error and "another body" in dup.error
    own = ingest.ingest_local(settings, contract, path, account="devon")
    assert "devon-secret-name.csv" in own.error  # its own earlier file is named to the same body


def test_reprocess_takes_the_sender_from_the_account_as_the_registry_says_now(sftp, tmp_path):
    """A file recorded without a sending body (as before accounts were bodies) is refused for that -
    the platform's configuration, not the file - and ``reprocess`` resolves its account's body afresh."""
    from connectors.sftp import open_account

    path = tmp_path / "leeds.csv"
    path.write_text(HEADER.replace("Amount Paid,Amount Due", "Amount") + "17/02/2021,T1,100.00,ACME LTD,Parks,Plants\n")
    with open_account(sftp, "leeds") as leeds:
        leeds.upload(path, "spend_over_500")
    contract = get_contract(sftp.feeds_dir, "council", "spend_over_500")
    [file_id] = ingest.fetch(sftp, contract)
    with connect(sftp.warehouse_url) as conn:
        conn.execute("update ops.file_ledger set sent_by = null where file_id = %s", (file_id,))
    ingest.load(sftp, contract, file_id)
    with connect(sftp.warehouse_url) as conn:
        status, error = conn.execute("select status, error from ops.file_ledger where file_id = %s",
                                     (file_id,)).fetchone()
    assert status == "quarantined" and "sending body is not known" in error
    again = ingest.reprocess(sftp, contract, file_id)
    assert again.status == "published", again.error
    with connect(sftp.warehouse_url) as conn:
        assert conn.execute("select sent_by from ops.file_ledger where file_id = %s",
                            (file_id,)).fetchone() == ("Leeds City Council",)
        assert conn.execute("select distinct _sent_by from raw.council__spend_over_500 where _file_id = %s",
                            (file_id,)).fetchall() == [("Leeds City Council",)]
