"""Access control in PostgreSQL: partner bodies' roles see only their own raw rows (row-level security),
analysts only the marts, the pipelines run as roles that are not superusers, and grants, revokes,
loads and CLI queries are audited."""

from __future__ import annotations

import psycopg
import pytest
from conftest import POLICE_SAMPLE

from devtools.generate_data import write_hospital_admissions_csv
from totalplace import ingest
from totalplace.access import as_role
from totalplace.contracts import get_contract
from totalplace.warehouse import connect


@pytest.fixture
def loaded(settings, tmp_path):
    """One police file and one NHS file published."""
    for agency, feed, path in (
        ("police", "street_crime", POLICE_SAMPLE),
        ("nhs", "hospital_admissions",
         write_hospital_admissions_csv(tmp_path / "adm.csv", 40, [("E01000001", "City of London 001A")])),
    ):
        outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)
        assert outcome.status == "published", outcome.error
    return settings


def count(settings, role: str, query: str) -> int:
    with connect(as_role(settings.warehouse_url, settings, role)) as conn:
        return conn.execute(query).fetchone()[0]


def refused(settings, role: str, query: str) -> bool:
    try:
        count(settings, role, query)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_each_agency_sees_only_its_own_raw_rows(loaded):
    nhs_rows = "select count(*) from raw.nhs__hospital_admissions"
    police_rows = "select count(*) from raw.police__street_crime"
    # another agency's table is not granted at all (so not even EXPLAIN-ed); row-level security
    # filters the agency's own tables, and would filter a grant made by mistake
    assert refused(loaded, "city_of_london_police", nhs_rows)
    assert count(loaded, "anytown_icb", nhs_rows) == 40
    assert count(loaded, "city_of_london_police", police_rows) == 797
    assert refused(loaded, "anytown_icb", police_rows)
    # not through a partition either: each file's partition carries the same grants and policy
    with connect(loaded.warehouse_url) as conn:
        partition = conn.execute("select inhrelid::regclass::text from pg_inherits "
                                 "where inhparent = 'raw.nhs__hospital_admissions'::regclass").fetchone()[0]
        conn.execute(f"grant select on {partition} to police")  # a grant by mistake: RLS still holds
    assert count(loaded, "city_of_london_police", f"select count(*) from {partition}") == 0
    # and the ledger shows each agency its own files, through ops.partner_files()
    assert count(loaded, "city_of_london_police", "select count(*) from ops.partner_files() where agency = 'nhs'") == 0
    assert count(loaded, "anytown_icb", "select count(*) from ops.partner_files() where agency = 'nhs'") == 1
    assert refused(loaded, "city_of_london_police", "select count(*) from ops.file_ledger")


def test_row_level_security_is_forced_on_raw_and_landing_tables(loaded):
    with connect(loaded.warehouse_url) as conn:
        unprotected = conn.execute(
            "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('raw', 'landing', 'quarantine', 'history') and c.relkind in ('r', 'p') "
            "and not (c.relrowsecurity and c.relforcerowsecurity)").fetchall()
    assert unprotected == []


def test_analysts_read_marts_and_are_refused_raw(loaded):
    with connect(loaded.warehouse_url) as conn:
        conn.execute("create table marts.example as select 1 as n")
        conn.execute("grant select on marts.example to analyst")
    assert count(loaded, "analyst", "select count(*) from marts.example") == 1
    for table in ("raw.police__street_crime", "raw.nhs__hospital_admissions", "ops.file_ledger"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            count(loaded, "analyst", f"select count(*) from {table}")


def test_pipelines_are_not_superusers_and_own_what_they_write(loaded):
    from totalplace.services import prepare_warehouse

    prepare_warehouse(loaded, loaded.warehouse_url)  # every feed's raw table, as `totalplace up` makes them
    with connect(loaded.warehouse_url) as conn:
        roles = dict(conn.execute("select rolname, rolsuper from pg_roles where rolname in "
                                  "('loader', 'transformer', 'analyst', 'police', 'nhs')").fetchall())
        owners = {r[0] for r in conn.execute("select distinct tableowner from pg_tables where schemaname = 'raw'")}
        loads = conn.execute("select count(*) from ops.audit_log where action = 'load'").fetchone()[0]
    assert roles and not any(roles.values())
    assert owners == {"loader"}
    assert loads == 2  # both publishes, recorded by the ledger's trigger


def test_grant_and_revoke_from_the_command_line_are_audited(loaded):
    from conftest import run_cli

    granted = run_cli(loaded, "grant", "city_of_london_police", "pc_smith", "--password-stdin", input="s3cret-passw0rd\n")
    assert granted.returncode == 0, granted.stderr
    url = psycopg.conninfo.make_conninfo(loaded.warehouse_url, user="pc_smith", password="s3cret-passw0rd")
    with connect(url) as conn:
        assert conn.execute("select count(*) from raw.police__street_crime").fetchone()[0] == 797
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from raw.nhs__hospital_admissions")
    query = run_cli(loaded, "sql", "select count(*) from raw.nhs__hospital_admissions", "--as", "analyst")
    assert query.returncode != 0 and "permission denied" in query.stderr
    revoked = run_cli(loaded, "revoke", "city_of_london_police", "pc_smith")
    assert revoked.returncode == 0, revoked.stderr
    # revoked: pc_smith may not even connect (only the platform's roles and their members may)
    with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
        psycopg.connect(url).close()
    with connect(loaded.warehouse_url) as conn:
        log = conn.execute("select action, target, detail->>'user', detail->>'error' from ops.audit_log "
                           "where action <> 'load' order by audit_id").fetchall()
    assert [(a, t, u) for a, t, u, _ in log] == [("grant", "city_of_london_police", "pc_smith"),
                                                ("query", "analyst", None),
                                                ("revoke", "city_of_london_police", "pc_smith")]
    assert "permission denied" in log[1][3]
