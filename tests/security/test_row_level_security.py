"""Finding 1: row-level security bypassed by shadowing ``pg_roles`` with a temporary view.

The policy function ``ops.may_read_agency`` named ``pg_roles`` unqualified and had no pinned
search_path, so a partner who put ``pg_temp`` first could answer its question himself and read every
agency's rows. A login made with ``totalplace grant`` needed nothing more than ``set search_path``."""

from __future__ import annotations

import psycopg
import pytest
from conftest import run_cli
from psycopg.conninfo import make_conninfo

from totalplace.access import as_role
from totalplace.partners import registry
from totalplace.settings import PROJECT_ROOT, Settings
from totalplace.warehouse import connect

# police pretends to be nhs: a temporary pg_roles whose only row says "nhs" with police's own oid
SHADOW = ("create temp view pg_roles as select 'nhs'::name as rolname, r.oid "
          "from pg_catalog.pg_roles r where r.rolname = session_user")
VICTIMS = {
    "nhs raw rows": "select count(*) from raw.nhs__hospital_admissions",
    "council quarantined rows": "select count(*) from quarantine.council__pooled_budgets__f3",
    "other agencies' ledger rows": "select count(*) from ops.file_ledger where agency not in ('police', 'reference')",
    "other agencies' files": "select count(*) from ops.partner_files() where agency <> 'police'",
}


def _police_sees(conn) -> dict[str, int]:
    """Rows of each victim the connection reads (a refusal reads none)."""
    seen = {}
    for what, query in VICTIMS.items():
        try:
            with conn.transaction():
                seen[what] = conn.execute(query).fetchone()[0]
        except psycopg.errors.InsufficientPrivilege:
            seen[what] = 0
    return seen


def _attack(conn) -> dict[str, int] | str:
    """The probe's attack on a direct connection: what police reads afterwards, or why it was stopped."""
    try:
        conn.execute("set default_transaction_read_only = off")  # a login's defaults are only defaults
        conn.execute("set search_path = pg_temp, pg_catalog")
        conn.execute(SHADOW)
    except psycopg.errors.InsufficientPrivilege as exc:
        conn.rollback()
        conn.execute("reset search_path")
        return f"refused: {exc}"
    return _police_sees(conn)


def test_the_victims_exist_and_police_cannot_see_them(three_agencies):
    with connect(three_agencies.warehouse_url) as conn:
        assert all(v > 0 for k, v in _police_sees(conn).items() if "files" not in k)
    with connect(as_role(three_agencies.warehouse_url, three_agencies, "city_of_london_police")) as conn:
        assert set(_police_sees(conn).values()) == {0}
        assert conn.execute("select count(*) from raw.police__street_crime").fetchone()[0] == 797


def test_shadowing_pg_roles_through_totalplace_sql_reads_nothing(three_agencies):
    for victim in VICTIMS.values():
        out = run_cli(three_agencies, "sql", "--as", "city_of_london_police", "--format", "csv",
                      f"commit; set search_path = pg_temp, pg_catalog; {SHADOW}; {victim}")
        assert out.returncode != 0, f"the attack ran: {out.stdout}"
        assert "one statement" in out.stderr, out.stderr
    with connect(three_agencies.warehouse_url) as conn:  # nothing of the attack was left behind either
        assert conn.execute("select count(*) from pg_class where relname = 'pg_roles' "
                            "and relnamespace <> 'pg_catalog'::regnamespace").fetchone()[0] == 0


def test_a_partner_login_made_by_grant_cannot_shadow_pg_roles(three_agencies):
    made = run_cli(three_agencies, "grant", "city_of_london_police", "pc_jones", "--password-stdin", input="a-long-Passw0rd\n")
    assert made.returncode == 0, made.stderr
    url = make_conninfo(three_agencies.warehouse_url, user="pc_jones", password="a-long-Passw0rd")
    with psycopg.connect(url, autocommit=True) as conn:
        seen = _attack(conn)
        if isinstance(seen, dict):
            assert set(seen.values()) == {0}, f"pc_jones read {seen}"
        # and with pg_temp searched first but no temporary view (TEMP is not granted), nothing changes
        conn.execute("set search_path = pg_temp, pg_catalog")
        assert set(_police_sees(conn).values()) == {0}
        assert conn.execute("select count(*) from raw.police__street_crime").fetchone()[0] == 797


def test_even_with_temp_granted_by_mistake_shadowing_pg_roles_reads_nothing(three_agencies):
    """Refusing TEMP stops the attack before the policy function is reached; this pins the function
    itself. An administrator grants TEMP - and SELECT on an NHS table - by mistake, the partner shadows
    pg_roles, and still reads none of another agency's rows: the policy's function and the ledger's
    name pg_catalog.pg_roles on a pinned path."""
    made = run_cli(three_agencies, "grant", "city_of_london_police", "pc_temp", "--password-stdin", input="a-long-Passw0rd\n")
    assert made.returncode == 0, made.stderr
    with connect(three_agencies.warehouse_url) as admin:
        database = admin.execute("select current_database()").fetchone()[0]
        admin.execute(f'grant temporary on database "{database}" to pc_temp')
        admin.execute("grant select on raw.nhs__hospital_admissions to pc_temp")
    url = make_conninfo(three_agencies.warehouse_url, user="pc_temp", password="a-long-Passw0rd")
    with psycopg.connect(url, autocommit=True) as conn:
        seen = _attack(conn)
        assert isinstance(seen, dict), f"the shadow view was refused ({seen}): the function is not under test"
        assert conn.execute("select count(*) from pg_temp.pg_roles").fetchone()[0] == 1  # the shadow is there
        assert set(seen.values()) == {0}, f"pc_temp read {seen}"
        assert conn.execute("select count(*) from ops.partner_files()").fetchone()[0] == 1  # its own file only


@pytest.mark.parametrize("role", [*registry(Settings(partners_file=PROJECT_ROOT / "partners.yml")).accounts, "analyst"])
def test_platform_roles_cannot_make_temporary_objects(three_agencies, role):
    with psycopg.connect(as_role(three_agencies.warehouse_url, three_agencies, role), autocommit=True) as conn:
        conn.execute("set default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create temp table t (a int)")


def test_every_platform_function_pins_its_search_path(three_agencies):
    """No function of the platform (and none a policy calls) resolves a name through the caller's path."""
    with connect(three_agencies.warehouse_url) as conn:
        loose = conn.execute(
            "select p.oid::regprocedure::text, coalesce(array_to_string(p.proconfig, ' '), '') "
            "from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
            "where n.nspname in ('ops', 'raw', 'landing', 'quarantine', 'history', 'marts') "
            "and not coalesce('search_path=pg_catalog, pg_temp' = any(p.proconfig), false)").fetchall()
        in_policies = conn.execute(
            "select distinct p.oid::regprocedure::text from pg_policy pol, pg_proc p "
            "where pg_get_expr(pol.polqual, pol.polrelid) ~ ('\\m' || p.proname || '\\(') "
            "and p.pronamespace <> 'pg_catalog'::regnamespace "
            "and not coalesce('search_path=pg_catalog, pg_temp' = any(p.proconfig), false)").fetchall()
    assert loose == [] and in_policies == []


def test_another_agencys_tables_cannot_even_be_explained(three_agencies):
    """With SELECT on every agency's table and only row-level security between them, police could
    EXPLAIN nhs's tables: the planner's estimates (statistics RLS does not filter) gave counts and
    value distributions away, and EXPLAIN ANALYZE on the shared ledger counted the rows RLS removed.
    Each agency's tables are granted to that agency alone, and partners read the ledger through a
    function."""
    url = as_role(three_agencies.warehouse_url, three_agencies, "city_of_london_police")
    with psycopg.connect(url, autocommit=True) as conn:
        for query in ("explain select * from raw.nhs__hospital_admissions where cost > 100",
                      "explain select * from quarantine.council__pooled_budgets__f3",
                      "explain (analyze) select * from ops.file_ledger where agency = 'nhs'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(query)
        assert conn.execute("select count(*) from pg_stats where tablename like 'nhs\\_\\_%'").fetchone()[0] == 0
        plan = "\n".join(r[0] for r in conn.execute("explain (analyze) select * from ops.partner_files()"))
        assert "Removed" not in plan and "file_ledger" not in plan, plan
        own = conn.execute("select agency, count(*) from ops.partner_files() group by 1").fetchall()
        assert own == [("police", 1)]
