"""Four agencies drop person-level extracts about one population over SFTP; the DAGs publish them
pseudonymised and build the cohort marts - and a scan of every text column of every table finds
no NHS number, date of birth or postcode in clear, and no published count of 1-7 people."""

from __future__ import annotations

import pytest

from connectors.sftp import open_account
from devtools import generate_data as gen
from devtools import generate_people as gp
from totalplace import pipeline
from totalplace.privacy_scan import scan
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow


def test_cohorts_are_built_from_pseudonyms_and_nothing_identifying_is_left(sftp, airflow_home, tmp_path):
    people = gp.population(gp.read_postcodes(sftp.postcode_lookup_file), 4000)
    offences = gp.write_offences_csv(tmp_path / "offences.csv", people, offenders=600)
    drops = [
        ("city_of_london_police", "offences", offences),
        ("anytown", "children_in_care", gp.write_children_in_care_csv(tmp_path / "cic.csv", people)),
        ("anytown_homes", "homelessness_cases",
         gp.write_homelessness_cases_csv(tmp_path / "cases.csv", people, offences_csv=offences, cases=400)),
        ("anytown_icb", "ae_attendances", gen.write_ae_attendances_csv(tmp_path / "ae.csv", 1500, [], population=people)[0]),
        ("anytown_icb", "hospital_admissions",
         gen.write_hospital_admissions_csv(tmp_path / "adm.csv", 600, [], population=people)),
    ]
    damaged = tmp_path / "offences-damaged.csv"  # a partner's bad file: quarantined, its rows kept apart
    damaged.write_text(offences.read_text().replace("/2021,", "/2O21,", 3))
    drops.append(("city_of_london_police", "offences", damaged))
    for agency, feed, path in drops:
        with open_account(sftp, agency) as account:
            account.upload(path, feed)
    summary = pipeline.run_all(sftp)
    assert summary.ok, [(r.dag_id, r.state, r.failed_tasks) for r in summary.dag_results]
    assert sorted(f.status for f in summary.files) == ["published"] * 5 + ["quarantined"]

    with connect(sftp.warehouse_url) as conn:
        result = scan(conn, sftp.feeds_dir)
        cohort = dict(conn.execute(
            "select agencies_known_to, people from marts.mart_multi_agency_cohort "
            "where financial_year = '2021-22' and place_code = 'all'").fetchall())
        curve = dict(conn.execute(
            "select top_percent, share_of_offences_percent from marts.mart_offending_concentration "
            "where financial_year = '2021-22' and place_code = 'all'").fetchall())
        small = conn.execute(
            "select count(*) from (select people as n from marts.mart_multi_agency_cohort union all "
            "select offenders from marts.mart_offending_concentration union all "
            "select children_in_care from marts.mart_children_in_care union all "
            "select people from marts.mart_service_transitions) as counts where n between 1 and 7").fetchone()[0]
        owners = dict(conn.execute("select schemaname, string_agg(distinct tableowner, ',') from pg_tables "
                                   "where schemaname in ('raw', 'marts', 'reference') "
                                   "group by 1").fetchall())
        linked = conn.execute("select count(distinct person_id) from intermediate.int_people_by_year "
                              "where agencies >= 2").fetchone()[0]
    # the pipelines ran as their roles, not as a superuser: each owns what it wrote
    assert owners == {"raw": "loader", "marts": "transformer",
                      "reference": "transformer"}
    assert result.findings == [], [str(f) for f in result.findings]
    assert result.tables > 30 and result.columns > 300
    assert result.exempt[0] == "raw.council__land_assets.postcode"
    assert small == 0
    # people linked across agencies: through the NHS number, or the name + birth date + postcode key
    assert linked > 50 and cohort["all"] >= 1000
    # offending is concentrated: the top 2% commit a far larger share than 2%
    assert curve[100] == 100 and curve[2] > 10

    isolation(sftp)

    # the scan is not blind: an NHS number or a postcode planted in a report is found
    with connect(sftp.warehouse_url) as conn:
        conn.execute("update ops.file_ledger set error = 'patient 943 476 5919 at QA1 1AA' "
                     "where file_id = (select min(file_id) from ops.file_ledger)")
        planted = scan(conn, sftp.feeds_dir).findings
    assert sorted(f.kind for f in planted) == ["a full postcode", "a valid NHS number (1 of 1 ten-digit numbers)"]


def _rows_of(conn, name: str, body: str) -> int:
    """Rows of ``name`` that ``body`` sent, counted by the admin."""
    columns = [d.name for d in conn.execute(f"select * from {name} limit 0").description]  # noqa: S608
    if "_sent_by" in columns:
        return conn.execute(f"select count(*) from {name} where _sent_by = %s", (body,)).fetchone()[0]  # noqa: S608
    file_id = int(name.rsplit("__f", 1)[1])
    sender = conn.execute("select sent_by from ops.file_ledger where file_id = %s", (file_id,)).fetchone()[0]
    return conn.execute(f"select count(*) from {name}").fetchone()[0] if sender == body else 0  # noqa: S608


def isolation(settings) -> None:
    """Nobody in the wrong place, checked over the whole catalog of a built warehouse."""
    import yaml

    from totalplace.access import as_role, grants_snapshot
    from totalplace.partners import registry
    from totalplace.settings import PROJECT_ROOT

    partners = registry(settings)

    with connect(settings.warehouse_url) as conn:
        # no role of the platform is a superuser, bypasses row-level security or can make roles
        powers = conn.execute("select rolname from pg_roles where rolname = any(%s) and "
                              "(rolsuper or rolbypassrls or rolcreaterole or rolcreatedb)",
                              (["loader", "transformer", "analyst", "partner", *partners.agency_types,
                                *partners.accounts],)).fetchall()
        # every view reads with the querying role's rights
        definer_views = conn.execute(
            "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind = 'v' and n.nspname in ('staging', 'intermediate', 'marts') "
            "and not coalesce('security_invoker=true' = any(c.reloptions), false)").fetchall()
        # every row-level security policy evaluates its check once per query, not once per row
        per_row = conn.execute("select schemaname || '.' || tablename from pg_policies "
                               "where policyname = 'agency_rows' and schemaname <> 'ops' "
                               "and qual not ilike '%select%'").fetchall()
        unforced = conn.execute(
            "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('raw', 'landing', 'quarantine', 'history') and c.relkind in ('r', 'p') "
            "and not (c.relrowsecurity and c.relforcerowsecurity)").fetchall()
        relations = [f"{schema}.{name}" for schema, name in conn.execute(
            "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('raw', 'quarantine') and c.relkind in ('r', 'p') and not c.relispartition")]
        totals = {name: conn.execute(f"select count(*) from {name}").fetchone()[0]  # noqa: S608
                  for name in relations}
        # each body's own rows of each table: its _sent_by, or (a per-file table) the file's sender
        own = {(name, p.body): _rows_of(conn, name, p.body) for name in relations for p in partners.senders}
        snapshot = grants_snapshot(conn, settings)
    assert powers == [] and definer_views == [] and unforced == [] and per_row == []
    # every body's role against every raw and quarantined table: its own rows all, another body's none,
    # another agency type's table refused outright (not granted: not even EXPLAIN-able)
    import psycopg

    for partner in partners.senders:
        with connect(as_role(settings.warehouse_url, settings, partner.account), autocommit=True) as conn:
            for name, total in totals.items():
                owner = name.split(".")[1].split("__")[0]
                try:
                    seen = conn.execute(f"select count(*) from {name}").fetchone()[0]  # noqa: S608
                except psycopg.errors.InsufficientPrivilege:
                    seen = None
                expected = total if owner == "reference" else own[name, partner.body] \
                    if owner == partner.agency_type else None
                assert seen == expected, f"{partner.account} sees {seen} of {total} rows of {name}"
    assert sum(totals.values()) > 0
    approved = yaml.safe_load((PROJECT_ROOT / "deploy" / "grants.yml").read_text())
    # no role may do more than the approved manifest says (a family with no table yet grants nothing to see)
    beyond = {role: sorted(set(snapshot.get(role, [])) - set(approved.get(role, []))) for role in snapshot}
    assert not any(beyond.values()), f"rights beyond deploy/grants.yml: {beyond}"
    # and every right on the database, a schema or a function the manifest names is there
    short = {role: sorted(x for x in set(approved[role]) - set(snapshot.get(role, [])) if not x.startswith("table "))
             for role in approved}
    assert not any(short.values()), f"rights deploy/grants.yml names that the roles lack: {short}"
    assert set(snapshot) == set(approved)
