"""Write-audit-publish of the warehouse with real dbt builds: spend in fct_spend reconciles with every
file's own total to the penny, the audit catches a build that does not, and only an audited build
is swapped in for the published schemas."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import FIXTURES

from devtools import generate_data as gen
from totalplace import ingest, transform
from totalplace.contracts import get_contract
from totalplace.publish_warehouse import audit, drop_build, swap
from totalplace.reference import REFERENCE_DIR
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow


def build(settings) -> list[str]:
    """The transform DAG's build step; what failed in it (nothing: [])."""
    try:
        transform.build(settings, "test")
    except transform.BuildFailed as exc:
        return [str(exc)]
    return []


def test_spend_reconciles_per_file_and_only_an_audited_build_is_published(reference_loaded, tmp_path):
    s = reference_loaded
    lsoas = gen.london_lsoas(REFERENCE_DIR / "ons_lsoa_lookup.csv", limit=200)
    files = [
        ("council", "spend_over_500", FIXTURES / "council" / "devon_DCCSpendingOver500_202504.csv"),
        ("nhs", "spend_over_25k", gen.write_nhs_spend_over_25k_csv(tmp_path / "icb.csv", 50)),
        ("nhs", "ae_attendances", gen.write_ae_attendances_csv(tmp_path / "ae.csv", 400, lsoas)[0]),
    ]
    for agency, feed, path in files:
        outcome = ingest.ingest_local(s, get_contract(s.feeds_dir, agency, feed), path)
        assert outcome.status == "published", outcome.error

    assert build(s) == []
    assert audit(s.warehouse_url) == []
    swap(s.warehouse_url)
    with connect(s.warehouse_url) as conn:
        # independent of the audit's own query: raw sums per file against the published fact
        pairs = conn.execute(
            "select f.feed, f.file_id, sum(f.amount), "
            "coalesce((select sum(amount) from raw.council__spend_over_500 r where r._file_id = f.file_id), "
            "(select sum(amount) from raw.nhs__spend_over_25k r where r._file_id = f.file_id), "
            "(select sum(cost) from raw.nhs__ae_attendances r where r._file_id = f.file_id)) "
            "from marts.fct_spend f where f.basis <> 'outturn' group by 1, 2").fetchall()
        devon = conn.execute("select place_name, sum(amount) from marts.mart_total_place "
                             "where place_level = 'lad' and financial_year = '2025-26' group by 1").fetchall()
        schemas = {n for (n,) in conn.execute("select nspname from pg_namespace where nspname like 'marts%'")}
    assert len(pairs) == 3 and all(fact == raw for _, _, fact, raw in pairs), pairs
    # Devon County Council's April 2025 payments shared among Devon's eight districts by population
    assert len(devon) == 8
    assert sum(total for _, total in devon) == pytest.approx(pairs[[p[0] for p in pairs].index(
        "council/spend_over_500")][2], abs=Decimal("0.05"))
    assert schemas == {"marts"}

    # a build whose fact does not add up to a file's total is caught and never published
    assert build(s) == []
    with connect(s.warehouse_url) as conn:
        conn.execute("update marts__build.fct_spend set amount = amount + 0.01 where ctid = "
                     "(select ctid from marts__build.fct_spend where feed = 'nhs/spend_over_25k' limit 1)")
    [problem] = audit(s.warehouse_url)
    assert problem.startswith("nhs/spend_over_25k file") and "fct_spend holds" in problem


def test_only_incremental_tables_are_carried_into_the_build(settings):
    """A model that was a view before it became incremental is built whole once, not copied."""
    with connect(settings.warehouse_url) as conn:
        conn.execute("create table intermediate.counted_before as select 1 as file_id, 10 as crimes")
        conn.execute("create view intermediate.was_a_view as select 1 as file_id")
    drop_build(settings.warehouse_url, [("intermediate", "counted_before"), ("intermediate", "was_a_view"),
                                        ("intermediate", "never_built")])
    with connect(settings.warehouse_url) as conn:
        built = conn.execute("select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                             "where n.nspname = 'intermediate__build' order by 1").fetchall()
        assert built == [("counted_before", "r")]
        assert conn.execute("select crimes from intermediate__build.counted_before").fetchone()[0] == 10


def test_a_file_published_while_a_build_runs_is_the_next_builds_not_a_failed_audit(reference_loaded, tmp_path):
    """Under a scheduler files keep being published while the warehouse builds: the audit holds a build
    to the files it started with (a build once failed - and was retried - for every council file that
    arrived during it); the next build takes the newcomer, and is held to it."""
    s = reference_loaded
    spend = get_contract(s.feeds_dir, "council", "spend_over_500")
    first = ingest.ingest_local(s, spend, FIXTURES / "council" / "devon_DCCSpendingOver500_202504.csv")
    assert first.status == "published", first.error
    built = transform.build(s, "first")
    late = ingest.ingest_local(s, spend, FIXTURES / "council" / "oxford_expenditure-over-500-jul-sep-2014.csv",
                               account="oxford")
    assert late.status == "published", late.error
    assert late.file_id not in built["selection"]["files"]
    # without the build's own list, the file that came after it would be a disagreement
    assert any(f"file {late.file_id} " in p for p in audit(s.warehouse_url, feeds_dir=s.feeds_dir))
    transform.audit(s, built)  # held to what it started with: passes
    assert transform.publish(s, built, "first")
    again = transform.build(s, "second")
    assert late.file_id in again["selection"]["files"] and again["results"]
    transform.audit(s, again)
    with connect(s.warehouse_url) as conn:
        transform.publish(s, again, "second")
        held = conn.execute("select sum(amount) from marts.fct_spend where file_id = %s", (late.file_id,)).fetchone()[0]
        raw = conn.execute("select sum(amount) from raw.council__spend_over_500 where _file_id = %s",
                           (late.file_id,)).fetchone()[0]
    assert held == raw
