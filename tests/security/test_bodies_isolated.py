"""Partners are bodies: each body's login reads the rows *it* sent and nothing of any other body's -
not another agency type's (refused outright), and not another body's of the same type (Leeds and
Devon both send council spend into one table; row-level security keeps them apart).

One file from every sending body in partners.yml goes in (so a council added to the registry is in
this test without a line changed here), one of them quarantined; then every ordered pair of bodies
is checked over every table of raw, quarantine and history and over the ledger."""

from __future__ import annotations

from pathlib import Path

import psycopg
from conftest import FIXTURES

from devtools import generate_data as gen
from totalplace.access import as_role
from totalplace.contracts import get_contract
from totalplace.ingest import ingest_local
from totalplace.partners import registry
from totalplace.warehouse import connect


def _spend_csv(path: Path, body: str, seed: int, *, bad: bool = False) -> Path:
    """A council's spend file of a few lines, made distinct by the body (and broken with ``bad``)."""
    rows = [f"{'31/02/2021' if bad and i == 1 else f'0{i + 1}/04/2021'},T{seed}-{i},{100 * (i + 1) + seed}.50,"
            f"Supplier of {body},Adults,Care" for i in range(3)]
    path.write_text("Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\n" + "\n".join(rows) + "\n")
    return path


def _file_for(feed: str, body: str, seed: int, folder: Path) -> Path | None:
    """A small file of ``feed`` only ``body`` would send (distinct bytes: never a duplicate of another's)."""
    lsoas = [("E01000001", "City of London 001A"), ("E01000002", "City of London 001B")]
    makers = {
        "street_crime": lambda p: gen.write_police_csv(p, 20 + seed, lsoas, seed=seed),
        "spend_over_500": lambda p: _spend_csv(p, body, seed),
        "revenue_outturn": lambda p: FIXTURES / "finance" / "mhclg_RA_2021-22_data_by_LA.csv",
        "homelessness": lambda p: gen.write_homelessness_csv(p, [("E09000001", "City of London")], seed=seed),
        "spend_over_25k": lambda p: gen.write_nhs_spend_over_25k_csv(p, 5 + seed, seed=seed),
    }
    make = makers.get(feed)
    return make(folder / f"{seed}-{feed}.csv") if make else None


def test_every_body_reads_its_own_rows_and_no_other_bodys(settings, tmp_path):
    partners = registry(settings)
    sent: dict[str, str] = {}  # account -> body, of the bodies whose file went in
    for seed, partner in enumerate(partners.senders, start=1):
        for feed in partner.feeds:
            path = _file_for(feed, partner.body, seed, tmp_path)
            if path is None:
                continue
            contract = get_contract(settings.feeds_dir, partner.agency_type, feed)
            outcome = ingest_local(settings, contract, path, account=partner.account)
            assert outcome.status == "published", (partner.account, outcome.error)
            sent[partner.account] = partner.body
            break
    assert set(sent) == set(partners.accounts), f"no file made for {set(partners.accounts) - set(sent)}"
    # and a quarantined file of one council, whose rows stay in quarantine for that council alone
    council = next(p for p in partners.senders if "spend_over_500" in p.feeds)
    bad = ingest_local(settings, get_contract(settings.feeds_dir, "council", "spend_over_500"),
                       _spend_csv(tmp_path / "bad.csv", council.body, 99, bad=True), account=council.account)
    assert bad.status == "quarantined"

    with connect(settings.warehouse_url) as conn:
        tables = conn.execute(
            "select n.nspname || '.' || c.relname, split_part(c.relname, '__', 1), exists (select 1 from pg_attribute a "
            "  where a.attrelid = c.oid and a.attname = '_sent_by' and not a.attisdropped), "
            "(select l.sent_by from ops.file_ledger l "
            " where l.file_id = nullif(substring(c.relname from '__f([0-9]+)$'), '')::bigint) "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('raw', 'quarantine', 'history') and c.relkind in ('r', 'p') "
            "and not c.relispartition and split_part(c.relname, '__', 1) <> 'reference'").fetchall()
        truth: dict[str, dict[str, int]] = {}  # table -> {body: rows}, as the admin counts them
        for name, _, has_sender, file_body in tables:
            if has_sender:
                truth[name] = dict(conn.execute(f"select _sent_by, count(*) from {name} group by 1").fetchall())  # noqa: S608
            else:
                truth[name] = {file_body: conn.execute(f"select count(*) from {name}").fetchone()[0]}  # noqa: S608
        files = dict(conn.execute("select sent_by, count(*) from ops.file_ledger where agency <> 'reference' "
                                  "group by 1").fetchall())
    assert truth[f"quarantine.council__spend_over_500__f{bad.file_id}"] == {council.body: 3}

    agency_of = {p.account: p.agency_type for p in partners.senders}
    leaks: list[str] = []
    for reader, reader_body in sent.items():
        with psycopg.connect(as_role(settings.warehouse_url, settings, reader), autocommit=True) as conn:
            for name, agency, has_sender, file_body in tables:
                try:
                    seen = dict(conn.execute(f"select _sent_by, count(*) from {name} group by 1").fetchall()) \
                        if has_sender else {file_body: conn.execute(f"select count(*) from {name}").fetchone()[0]}  # noqa: S608
                except psycopg.errors.InsufficientPrivilege:
                    assert agency != agency_of[reader], f"{reader} may not read its own type's {name}"
                    continue
                assert agency == agency_of[reader], f"{reader} may read {name} of another agency type"
                seen = {b: n for b, n in seen.items() if n}
                for owner in sent.values():  # every ordered pair (reader, owner)
                    if owner != reader_body and seen.get(owner):
                        leaks.append(f"{reader} reads {seen[owner]} of {owner}'s rows in {name}")
                own = truth[name].get(reader_body, 0)
                assert seen.get(reader_body, 0) == own, f"{reader} sees {seen.get(reader_body)} of its {own} rows in {name}"
            ledger = dict(conn.execute("select sent_by, count(*) from ops.partner_files() group by 1").fetchall())
            assert ledger == {reader_body: files[reader_body]}, f"{reader}'s ledger: {ledger}"
    assert leaks == []
    assert len(sent) >= 2 and sum(len(t) for t in truth.values()) >= len(sent)
