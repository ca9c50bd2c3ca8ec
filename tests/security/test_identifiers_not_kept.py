"""Finding 5: identifiers kept in clear once a person-level file was rejected.

A children-in-care extract with an NHS number, a name and a postcode typed into its cost column was
quarantined - and the values sat in clear in the quarantine table, in the ledger's report examples
(readable by ``transformer`` and the agency), in the write-ahead log and in ``pg_statistic``. A file
rejected for an undeclared NHS-number column was kept under ``files/`` although the README said
nothing was kept. Nothing of a rejected person-level file's cells may be stored in clear anywhere."""

from __future__ import annotations

import json
import random
import string

import pytest
from conftest import write_variant

from connectors.sftp import open_account
from devtools import generate_people as gp
from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.warehouse import connect


def _nhs_number(rng: random.Random) -> str:
    """A valid NHS number (Modulus 11) no other test uses."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = (11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)


@pytest.fixture
def secrets_in_a_cost_column(settings, tmp_path):
    rng = random.Random()
    nhs = _nhs_number(rng)
    name = "Zebedee " + "".join(rng.choices(string.ascii_uppercase, k=10)).title()
    postcode = f"Z{rng.choice('ABDEFGH')}{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}"
    people = gp.population(gp.read_postcodes(settings.postcode_lookup_file), 600)
    source = gp.write_children_in_care_csv(tmp_path / "cic.csv", people, rate=0.2)

    def plant(rows):
        cost = rows[0].index("Weekly Cost")
        rows[1][cost], rows[2][cost], rows[3][cost] = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", name, postcode
    path = write_variant(source, tmp_path / "children-in-care.csv", plant)
    return path, {"nhs": nhs, "nhs_spaced": f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", "name": name, "postcode": postcode}


def _found_in_tables(conn, values: list[str]) -> list[str]:
    """Every table of every schema (the ledger, quarantine, raw, audit ...) whose rows mention a value."""
    tables = conn.execute("select quote_ident(n.nspname) || '.' || quote_ident(c.relname) from pg_class c "
                          "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') "
                          "and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')").fetchall()
    hits = []
    for (table,) in tables:
        for value in values:
            if conn.execute(f"select count(*) from {table} as t where t::text ilike %s", (f"%{value}%",)).fetchone()[0]:
                hits.append(f"{value!r} in {table}")
    return hits


def test_a_rejected_person_level_file_leaves_no_value_in_clear(sftp, secrets_in_a_cost_column, pg_server):
    path, secret = secrets_in_a_cost_column
    contract = get_contract(sftp.feeds_dir, "council", "children_in_care")
    with open_account(sftp, "anytown") as council:
        council.upload(path, "children_in_care")
    [file_id] = ingest.fetch(sftp, contract)
    ingest.load(sftp, contract, file_id)
    ingest.validate(sftp, contract, file_id)
    outcome = ingest.publish(sftp, contract, file_id)
    assert outcome.status == "quarantined", outcome
    values = list(secret.values())

    with connect(sftp.warehouse_url, autocommit=True) as conn:
        conn.execute("analyze")  # as autovacuum would, sooner or later
        assert _found_in_tables(conn, values) == []
        stats = conn.execute("select count(*) from pg_statistic where "
                             + " or ".join(f"stavalues{i}::text ilike any(%(v)s)" for i in range(1, 6)),
                             {"v": [f"%{v}%" for v in values]}).fetchone()[0]
        assert stats == 0, "a value is in pg_statistic"
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (file_id,)).fetchone()[0]
        conn.execute("checkpoint")
    # the report still says where: row and column, and what rule - without the value
    problem = next(p for p in report["problems"] if p["column"] == "Weekly Cost")
    assert [e["line"] for e in problem["examples"]] == [2, 3, 4]
    assert all(e.get("value") is None for e in problem["examples"])
    # nor in the sender's outbox copy, nor in the kept bytes (a rejected person-level file is not kept)
    outbox = sftp.sftp_root / "anytown" / "outbox" / "children_in_care"
    for report_file in outbox.iterdir():
        text = report_file.read_text(encoding="utf-8-sig")
        assert not [v for v in values if v in text], report_file.name
    kept = sftp.files_dir / "council" / "children_in_care" / str(file_id)
    assert not kept.exists() or not any(kept.iterdir()), "the rejected file's bytes were kept"
    # nor in the write-ahead log: the server's own files, read byte by byte
    _server, pgdata = pg_server
    wal = b"".join(p.read_bytes() for p in (pgdata / "pg_wal").iterdir() if p.is_file())
    assert [v for v in values if v.encode() in wal] == [], "a value is in the write-ahead log"


def test_a_file_rejected_for_an_undeclared_identifier_is_not_kept(settings, tmp_path):
    contract = get_contract(settings.feeds_dir, "council", "pooled_budgets")
    rng = random.Random()
    from devtools.generate_data import write_pooled_budgets_csv

    source = write_pooled_budgets_csv(tmp_path / "pools.csv", [("E09000001", "City of London"), ("E09000007", "Camden")])
    numbers = [_nhs_number(rng) for _ in range(20)]
    def add_patients(rows):
        for i, row in enumerate(rows):
            row.append("Patient NHS" if i == 0 else numbers[i % 20])
    path = write_variant(source, tmp_path / "pools-with-patients.csv", add_patients)
    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "quarantined" and "NHS" in (outcome.error or "")
    kept = settings.files_dir / contract.agency / contract.feed / str(outcome.file_id)
    assert not kept.exists() or not any(kept.iterdir()), "kept although the README says nothing is"
    with connect(settings.warehouse_url) as conn:
        assert _found_in_tables(conn, numbers[:3]) == []
        entry = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert "not kept" in json.dumps(entry)


def test_identifiers_in_a_file_name_or_a_header_are_not_repeated(sftp, secrets_in_a_cost_column, tmp_path):
    """The probe put a name and NHS number in an extra column's header and in a file's name: both were
    echoed into the ledger, the outbox and the site. A person-level feed takes only its declared
    columns (named by position in the report), and a name carrying an identifier is recorded without it."""
    from conftest import write_variant

    source, secret = secrets_in_a_cost_column
    clean = write_variant(source, tmp_path / "clean.csv", lambda rows: [r.__setitem__(
        rows[0].index("Weekly Cost"), "100.00") for r in rows[1:4]] and None)
    header = f"sibling {secret['name']} NHS {secret['nhs_spaced']}"
    with_column = write_variant(clean, tmp_path / "extra.csv", lambda rows: [
        r.append(header if i == 0 else "x") for i, r in enumerate(rows)] and None)
    named = tmp_path / f"care {secret['nhs_spaced']} {secret['postcode']}.csv"
    named.write_bytes(clean.read_bytes().replace(b"LAC31000", b"LAC31999", 1))
    with open_account(sftp, "anytown") as council:
        council.upload(with_column, "children_in_care")
        council.upload(named, "children_in_care")
    contract = get_contract(sftp.feeds_dir, "council", "children_in_care")
    for file_id in ingest.fetch(sftp, contract):
        ingest.load(sftp, contract, file_id)
    with connect(sftp.warehouse_url) as conn:
        files = conn.execute("select name, status, error from ops.file_ledger order by file_id").fetchall()
        leaked = _found_in_tables(conn, [secret["name"], secret["nhs_spaced"], secret["postcode"]])
    assert sorted(s for _, s, _ in files) == ["quarantined", "quarantined"], files
    assert any("column(s) 12 " in e for _, _, e in files), files
    assert any("[NHS number withheld]" in n and "person identifier" in e for n, _, e in files), files
    assert leaked == []
    outbox = sftp.sftp_root / "anytown" / "outbox" / "children_in_care"
    for report in outbox.iterdir():
        assert secret["nhs_spaced"] not in report.name
        text = report.read_text(encoding="utf-8-sig")
        assert not [v for v in secret.values() if v in text], report.name
