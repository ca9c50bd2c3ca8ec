"""Who may read and write what in the warehouse: PostgreSQL roles, row-level security, audit.

Roles (cluster-wide, created by :func:`setup` from the admin connection):

- ``loader`` - the ingest pipeline. Owns ``landing``, ``raw`` and ``quarantine`` and writes the
  ledger; the policies let it see every agency's rows. Not a superuser and no BYPASSRLS: it COPYs
  into a landing table before the table's policy is switched on, in the one transaction that
  creates it (PostgreSQL refuses COPY into a table whose row-level security applies to the copier).
- ``transformer`` - dbt. Owns ``reference``, ``staging``, ``intermediate``, ``marts`` (and their
  ``__build`` copies), reads ``raw`` through the row-level security policies.
- ``analyst`` - reads the published ``marts`` only; ``raw`` and ``landing`` are refused.
- one role per agency type in ``partners.yml`` (``police``, ``nhs``, ``housing``, ``council`` ...),
  no login, members of ``partner``: SELECT on that type's tables in ``raw``, ``landing``,
  ``quarantine`` and ``history`` (``<agency>__...``; ``reference__...`` is everyone's). Not a grant
  on another agency type's table: with one, PostgreSQL would let the role EXPLAIN it - and the
  planner's row estimates and EXPLAIN ANALYZE's "rows removed by filter" gave counts away.
- one login role per partner *body* - its SFTP account's name (``leeds``, ``city_of_london_police``
  ...) - a member of its agency type's role. Row-level security (enabled and FORCEd on every table)
  shows a body only the rows it sent itself (``_sent_by``; a per-file table: the file's sender), so
  Leeds reads none of Devon's rows although both send ``council__spend_over_500``; its files of the
  ledger come through ``ops.partner_files()``. ``ops.partner_bodies`` (role -> body) is written
  from the registry here. What is left between bodies of one type: EXPLAIN on the shared table
  estimates (and EXPLAIN ANALYZE counts) rows the policy removes - the number of rows, not what they hold.

People get access with ``totalplace grant <role> <user>`` (a login role that is a member of the
given role) and lose it with ``totalplace revoke``; both are written to ``ops.audit_log``, as are
loads (a trigger on the ledger) and every query run through ``totalplace sql``.

Guards on every login that only reads (``analyst``, the agency roles and the people granted them):
no ``TEMP`` on the database (a temporary object can shadow a catalog view for any function that
resolves names through the caller's search_path - the platform's functions pin theirs anyway),
``default_transaction_read_only``, and a ``statement_timeout``, ``lock_timeout`` and
``idle_in_transaction_session_timeout``, so a forgotten or hostile session cannot hold locks or a
backend for ever. Only the pipeline roles may create temporary tables (dbt's incremental models do).

Passwords of the pipeline roles are generated into ``<state>/keys/roles.json`` (owner-only); the
embedded PostgreSQL trusts local connections, an external one checks them.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from totalplace.partners import registry
from totalplace.settings import Settings

PIPELINE_ROLES = ("loader", "transformer")
GROUP_ROLES = ("analyst", "partner")


def agency_roles(settings: Settings) -> tuple[str, ...]:
    """The agency-type group roles (no login), from partners.yml."""
    return registry(settings).agency_types


def body_roles(settings: Settings) -> tuple[str, ...]:
    """The partner bodies' login roles - their SFTP accounts' names (partners.yml)."""
    return tuple(registry(settings).accounts)


def grantable(settings: Settings) -> tuple[str, ...]:
    """Roles a person may be given: the analysts', or one partner body's (its own rows)."""
    return ("analyst", *body_roles(settings))


def platform_roles(settings: Settings) -> tuple[str, ...]:
    return (*PIPELINE_ROLES, *GROUP_ROLES, *agency_roles(settings), *body_roles(settings))
LOADER_SCHEMAS = ("landing", "raw", "quarantine", "history")
TRANSFORMER_SCHEMAS = ("reference", "staging", "intermediate", "marts")


def passwords_file(settings: Settings) -> Path:
    return settings.state_dir / "keys" / "roles.json"


def role_passwords(settings: Settings) -> dict[str, str]:
    """{role: password} of the login roles the platform itself uses - the pipelines', the analysts' and
    each partner body's - made on first use (0600); a body added to the registry gets one then."""
    from totalplace.state import private_dir, write_private

    path = passwords_file(settings)
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = (*PIPELINE_ROLES, *body_roles(settings), "analyst")
    missing = [role for role in wanted if role not in known]
    if missing:
        private_dir(path.parent, settings)
        known.update({role: secrets.token_urlsafe(24) for role in missing})
        write_private(path, json.dumps(known, indent=2))
    return {role: known[role] for role in wanted}


def as_role(url: str, settings: Settings, role: str) -> str:
    """The same warehouse, logged in as ``role``."""
    parts = conninfo_to_dict(url)
    parts.update(user=role, password=role_passwords(settings)[role])
    return make_conninfo(**parts)


def _password_is(conn: psycopg.Connection, role: str, password: str) -> bool:
    """Whether ``role`` can log in with ``password`` and nothing else about it needs setting (its
    SCRAM secret checked here; False when the admin may not read pg_authid, e.g. a managed service)."""
    import base64
    import hashlib
    import hmac

    try:
        with conn.transaction():
            row = conn.execute("select rolpassword, rolcanlogin and not rolsuper and not rolcreatedb "
                               "and not rolcreaterole from pg_authid where rolname = %s", (role,)).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return False
    found = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", (row or ("", False))[0] or "")
    if not found or not row[1]:
        return False
    iterations, salt, stored_key = int(found[1]), base64.b64decode(found[2]), base64.b64decode(found[3])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)


def setup(conn: psycopg.Connection, settings: Settings) -> None:
    """Create the roles, give each schema its owner and the grants and policies above (idempotent).

    Run from the admin connection right after the bootstrap SQL; an external PostgreSQL needs an
    admin that may create roles and change schema owners (e.g. the managed service's admin).
    """
    passwords = role_passwords(settings)
    agencies, bodies = agency_roles(settings), body_roles(settings)
    for role in (*PIPELINE_ROLES, *agencies, *bodies, "analyst", "partner"):
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        if exists and role in passwords and _password_is(conn, role, passwords[role]):
            continue  # as it should be; setting a password again costs the server ~70 ms of hashing
        login = sql.SQL("login password {}").format(sql.Literal(passwords[role])) if role in passwords \
            else sql.SQL("nologin")
        verb = "alter" if exists else "create"
        conn.execute(sql.SQL(verb + " role {} {} nosuperuser nocreatedb nocreaterole").format(
            sql.Identifier(role), login))
    # no role of the platform bypasses row-level security (the loader COPYs into a landing table
    # before its policy is switched on, in the same transaction)
    conn.execute("alter role loader nobypassrls")
    for agency in agencies:
        conn.execute(sql.SQL("grant partner to {}").format(sql.Identifier(agency)))
    partners = registry(settings)
    for partner in partners.senders:
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(partner.agency_type),
                                                     sql.Identifier(partner.account)))
    # the registry's role -> body, read by the row-level security policies (whose rows a login may see)
    conn.execute("delete from ops.partner_bodies")
    with conn.cursor() as cur:
        cur.executemany("insert into ops.partner_bodies (role_name, body, agency) values (%s, %s, %s)",
                        [(p.account, p.body, p.agency_type) for p in partners.senders])
    dbname = conn.execute("select current_database()").fetchone()[0]
    # PostgreSQL lets every role connect and make temporary objects by default: only the platform's roles
    # (and the people granted them) connect, and only the pipelines, whose dbt models need them, make temp tables
    conn.execute(sql.SQL("revoke connect, temporary on database {} from public").format(sql.Identifier(dbname)))
    conn.execute(sql.SQL("grant connect on database {} to loader, transformer, analyst, partner").format(
        sql.Identifier(dbname)))
    conn.execute(sql.SQL("grant temporary on database {} to loader, transformer").format(sql.Identifier(dbname)))
    for role in ("analyst", *bodies):
        guard_reader(conn, role, settings)
    # people's logins granted before (an earlier version set no guards on them): the same guards now
    for (person,) in conn.execute(
            "select r.rolname from pg_catalog.pg_roles r where r.rolcanlogin and not r.rolsuper "
            "and r.rolname <> all(%s) and (pg_catalog.pg_has_role(r.oid, 'analyst', 'member') "
            "or pg_catalog.pg_has_role(r.oid, 'partner', 'member'))",
            (list(platform_roles(settings)),)).fetchall():
        guard_reader(conn, person, settings, person=True)
    for role in PIPELINE_ROLES:
        _set_role_defaults(conn, role, {"idle_in_transaction_session_timeout": "1h"})
    # dbt creates the <schema>__build copies of the warehouse and swaps them in
    conn.execute(sql.SQL("grant create on database {} to transformer").format(sql.Identifier(dbname)))
    for owner, schemas in (("loader", LOADER_SCHEMAS), ("transformer", TRANSFORMER_SCHEMAS)):
        for schema in schemas:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(owner)))
            _own_contents(conn, schema, owner)
    conn.execute("grant usage on schema raw to transformer")
    conn.execute("grant usage on schema landing, raw, quarantine, history to partner")
    conn.execute("revoke usage on schema landing, quarantine from transformer")  # granted by earlier versions
    conn.execute("grant usage on schema ops to loader, transformer, partner")
    conn.execute("grant select on ops.partner_bodies to loader, transformer, partner")
    conn.execute("grant select, insert, update on ops.file_ledger to loader")
    conn.execute("grant select on ops.file_ledger to transformer")
    # partners read their own files of the ledger through a function: a grant on the shared table would
    # let EXPLAIN ANALYZE count another agency's rows ("Rows Removed by Filter")
    conn.execute("revoke select on ops.file_ledger from partner")
    conn.execute("revoke all on function ops.end_overdue_readers() from public")
    conn.execute("grant execute on function ops.end_overdue_readers() to loader, transformer")
    conn.execute("revoke all on function ops.audit_file_outcome() from public")  # fired by its trigger only
    conn.execute("revoke all on function ops.partner_files() from public")
    conn.execute("grant execute on function ops.partner_files() to partner")
    conn.execute("grant select, insert, delete on ops.dbt_results to transformer")
    conn.execute("grant select on ops.dbt_results to loader")
    conn.execute("grant select, insert on ops.warehouse_builds to transformer")
    conn.execute("grant insert on ops.audit_log to loader, transformer")
    # tables the loader creates later are readable by dbt (raw); each agency's own are granted to it
    # by protect() - no longer to every partner by default, as earlier versions did
    conn.execute("alter default privileges for role loader in schema raw grant select on tables to transformer")
    for schema in LOADER_SCHEMAS:
        conn.execute(sql.SQL("alter default privileges for role loader in schema {} revoke select on tables "
                             "from partner").format(sql.Identifier(schema)))
    # every table dbt makes is readable by analysts - who can reach only the marts schema
    conn.execute("alter default privileges for role transformer grant select on tables to analyst")
    grant_marts(conn)
    _protect_existing(conn)
    # the ledger: each body sees its own files
    conn.execute("alter table ops.file_ledger enable row level security")
    conn.execute("alter table ops.file_ledger force row level security")
    conn.execute("drop policy if exists agency_rows on ops.file_ledger")
    # may_read_agency(agency) per row, written so its pipeline half is one InitPlan (reference rows: anyone's)
    conn.execute("create policy agency_rows on ops.file_ledger using "
                 "(agency = 'reference' or (select ops.may_read_agency('')) "
                 "or sent_by = any (coalesce((select ops.readable_bodies()), '{}')))")


def _own_contents(conn: psycopg.Connection, schema: str, owner: str) -> None:
    """Hand over tables and views an earlier version created as the admin (upgrade of a state folder)."""
    rows = conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') and pg_get_userbyid(c.relowner) <> %s",
        (schema, owner)).fetchall()
    for name, kind in rows:
        what = {"v": "view", "m": "materialized view"}.get(kind, "table")
        conn.execute(sql.SQL(f"alter {what} {{}} owner to {{}}").format(
            sql.Identifier(schema, name), sql.Identifier(owner)))


def _protect_existing(conn: psycopg.Connection) -> None:
    """Row-level security and grants on agency tables made before they existed (upgrade of a state folder).

    Tables are named ``<agency>__<feed>...``; only those still lacking the per-body policy, their agency
    type's grant, or still granted to every partner (as earlier versions did) are touched. A per-file
    table without ``_sent_by`` gets its file's sender from the ledger.
    """
    rows = conn.execute(
        "select n.nspname, c.relname, split_part(c.relname, '__', 1), not exists (select 1 from pg_policies p "
        "where p.schemaname = n.nspname and p.tablename = c.relname and p.policyname = 'agency_rows' "
        "and p.qual ilike '%%readable_bodies%%'), "
        "case when split_part(c.relname, '__', 1) = any(%s) "
        "     then has_table_privilege('partner', c.oid, 'select') "
        "       or not has_table_privilege(split_part(c.relname, '__', 1), c.oid, 'select') "
        "     else not has_table_privilege('partner', c.oid, 'select') end, "
        "n.nspname = 'raw' and not has_table_privilege('transformer', c.oid, 'select'), "
        "(select l.sent_by from ops.file_ledger l "
        " where l.file_id = nullif(substring(c.relname from '__f([0-9]+)$'), '')::bigint) "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind in ('r', 'p') and c.relname like '%%\\_\\_%%'",
        (list(_agency_types_of(conn)), list(LOADER_SCHEMAS))).fetchall()
    for schema, name, agency, unprotected, grants_wrong, transformer_missing, body in rows:
        table = sql.Identifier(schema, name)
        if unprotected or grants_wrong:
            protect(conn, table, agency, body)
        if transformer_missing:
            conn.execute(sql.SQL("grant select on {} to transformer").format(table))


def grant_marts(conn: psycopg.Connection) -> None:
    """Analysts read the published marts (again after each swap: a renamed schema has new grants)."""
    exists = conn.execute("select 1 from pg_namespace where nspname = 'marts'").fetchone()
    if exists:
        conn.execute("grant usage on schema marts to analyst")
        conn.execute("grant select on all tables in schema marts to analyst")


def protect(conn: psycopg.Connection, table: sql.Composed, agency: str, body: str | None = None) -> None:
    """Row-level security on one landing/raw/quarantine/history table: each row is seen by the body that
    sent it (its ``_sent_by``; a table without that column holds one file: ``body``'s) and the pipeline.

    FORCE makes the policy apply to the table's owner (the loader) too; the policy lets the pipeline roles in.
    SELECT is granted to ``agency``'s role alone (reference tables: to every partner), so another agency
    type cannot even EXPLAIN the table; RLS filters what each of its bodies reads.
    """
    conn.execute(sql.SQL("alter table {} enable row level security").format(table))
    conn.execute(sql.SQL("alter table {} force row level security").format(table))
    conn.execute(sql.SQL("drop policy if exists agency_rows on {}").format(table))
    has_sender = conn.execute(
        "select 1 from pg_attribute where attrelid = %s::regclass and attname = '_sent_by' and not attisdropped",
        (table.as_string(conn),)).fetchone()
    # the checks in scalar subqueries: PostgreSQL runs each once per query (an InitPlan), not once per
    # row - on a million-row table that is the difference between noise and tens of seconds
    whose = sql.SQL("_sent_by") if has_sender else sql.Literal(body)
    conn.execute(sql.SQL("create policy agency_rows on {} using ((select ops.may_read_agency({})) "
                         "or {} = any (coalesce((select ops.readable_bodies()), '{{}}')))").format(table, sql.Literal(agency), whose))
    if agency in _agency_types_of(conn):
        conn.execute(sql.SQL("revoke select on {} from partner").format(table))
        conn.execute(sql.SQL("grant select on {} to {}").format(table, sql.Identifier(agency)))
    else:
        conn.execute(sql.SQL("grant select on {} to partner").format(table))


def _agency_types_of(conn: psycopg.Connection) -> set[str]:
    """The agency types of the registry's copy in the warehouse (setup() writes it from partners.yml): the
    one answer for setup and for a load task, which has no Settings here."""
    return {a for (a,) in conn.execute("select distinct agency from ops.partner_bodies")}


SETUP_VERSION = "5"
"""Bump when setup() changes what it grants or sets: the warehouse's stored schema version then
differs and the next bootstrap runs setup again (warehouse.bootstrap)."""


def reader_defaults(settings: Settings, server_version: int = 0) -> dict[str, str]:
    """Session defaults of a login that only reads: read-only, and bounded in time and in locks.
    ``transaction_timeout`` (PostgreSQL 17+) bounds a transaction of many short statements too."""
    seconds = settings.sql_timeout_seconds
    defaults = {
        "default_transaction_read_only": "on",
        "statement_timeout": f"{seconds}s",
        "lock_timeout": "10s",
        "idle_in_transaction_session_timeout": f"{seconds}s",
        # a client that went away (killed, network cut) does not leave its query running
        "client_connection_check_interval": "2s",
    }
    if server_version >= 170000:
        defaults["transaction_timeout"] = f"{seconds}s"
    return defaults


# Settings only a superuser may change, so a reader cannot turn them off: temporary files a reader's
# query may write (a sort of everything filled gigabytes of disk in a minute), and its statements in
# the server's log (a person's own login is otherwise audited only through `totalplace sql`)
READER_LIMITS = {"temp_file_limit": "2GB"}
PERSON_LIMITS = {**READER_LIMITS, "log_statement": "all"}


def guard_reader(conn: psycopg.Connection, role: str, settings: Settings, *, person: bool = False) -> None:
    """The guards above on one login role (set only where they differ: ALTER ROLE writes a shared catalog).
    The superuser-only limits need an admin that is one (the embedded server's is); on a managed
    PostgreSQL whose admin is not, they are left out with a warning."""
    _set_role_defaults(conn, role, reader_defaults(settings, conn.info.server_version))
    try:
        with conn.transaction():
            _set_role_defaults(conn, role, PERSON_LIMITS if person else READER_LIMITS)
    except psycopg.errors.InsufficientPrivilege:
        import logging

        logging.getLogger(__name__).warning("could not set %s on %s: the admin login is not a superuser",
                                            ", ".join(PERSON_LIMITS if person else READER_LIMITS), role)


def _set_role_defaults(conn: psycopg.Connection, role: str, wanted: dict[str, str]) -> None:
    """Set ``wanted`` for ``role`` in this database only (a person's login may have other databases on a
    shared server: they keep their own settings)."""
    row = conn.execute("select s.setconfig from pg_catalog.pg_db_role_setting s join pg_catalog.pg_roles r "
                       "on r.oid = s.setrole where r.rolname = %s and s.setdatabase = "
                       "(select oid from pg_catalog.pg_database where datname = current_database())",
                       (role,)).fetchone()
    current = dict(item.split("=", 1) for item in (row[0] if row and row[0] else []))
    dbname = conn.execute("select current_database()").fetchone()[0]
    for name, value in wanted.items():
        if current.get(name) != value:
            conn.execute(sql.SQL("alter role {} in database {} set {} = {}").format(
                sql.Identifier(role), sql.Identifier(dbname), sql.Identifier(name), sql.Literal(value)))


def grant(conn: psycopg.Connection, role: str, user: str, password: str | None = None,
          settings: Settings | None = None) -> str:
    """Give ``user`` (a login role, created if new) the rights of ``role``; returns what was done.

    The login gets the reader's guards (read-only, timeouts); an existing role with powers of its
    own (a superuser, a role that may create roles or bypass row-level security) is refused, since
    holding a platform role would not limit what it can already do."""
    settings = settings or Settings()
    if role not in grantable(settings):
        raise ValueError(f"{role!r} cannot be granted: choose one of {', '.join(grantable(settings))}")
    if user in platform_roles(settings):
        raise ValueError(f"{user!r} is one of the platform's own roles; grant to a person's login instead")
    exists = conn.execute("select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls or rolreplication "
                          "from pg_roles where rolname = %s", (user,)).fetchone()
    if exists and exists[0]:
        raise ValueError(f"{user!r} is a privileged role (superuser, createrole, createdb, bypassrls or "
                         "replication); grant to a person's ordinary login instead")
    if not exists:
        conn.execute(sql.SQL("create role {} login password {} nosuperuser nocreatedb nocreaterole noreplication "
                             "nobypassrls connection limit 10").format(
            sql.Identifier(user), sql.Literal(password or secrets.token_urlsafe(18))))
    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), sql.Identifier(user)))
    guard_reader(conn, user, settings, person=True)
    audit(conn, "grant", role, {"user": user, "created": not exists})
    return f"{user} {'created and ' if not exists else ''}granted {role}"


def revoke(conn: psycopg.Connection, role: str, user: str) -> str:
    member = conn.execute("select pg_has_role(%s, %s, 'member')", (user, role)).fetchone()[0] \
        if conn.execute("select 1 from pg_roles where rolname = %s", (user,)).fetchone() else False
    if not member:
        raise ValueError(f"{user!r} does not hold {role!r}")
    conn.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(role), sql.Identifier(user)))
    audit(conn, "revoke", role, {"user": user})
    return f"{user} no longer holds {role}"


def audit(conn: psycopg.Connection, action: str, target: str | None, detail: dict,
          actor: str | None = None) -> int | None:
    """One row of ops.audit_log. The actor is a database login - ``actor`` when the action was done on
    another connection (a query run as an analyst), else this connection's - never a name from the
    environment, which anyone sets. Returns the row's id to a login that may read the log (the admin:
    a query's outcome is added to its row afterwards); the pipelines may only append."""
    values = ("insert into ops.audit_log (actor, db_role, action, target, detail) "
              "values (coalesce(%s, session_user), coalesce(%s, session_user), %s, %s, %s)")
    params = (actor, actor, action, target, Jsonb(detail))
    if not conn.execute("select has_table_privilege('ops.audit_log', 'select')").fetchone()[0]:
        conn.execute(values, params)
        return None
    return conn.execute(values + " returning audit_id", params).fetchone()[0]


PRIVILEGES = ("select", "insert", "update", "delete")


def grants_snapshot(conn: psycopg.Connection, settings: Settings) -> dict[str, list[str]]:
    """What each platform role may do, effective (through membership and ownership), as
    ``{role: ["schema raw: usage", "table raw.*: select", ...]}`` - tables of one schema collapse to
    ``<schema>.*`` where the role has the same rights on all of them. Tables of a schema the role
    cannot use are left out (out of reach), and so are landing's (one per load in flight). Compared with the approved
    manifest ``deploy/grants.yml`` by the isolation tests; ``totalplace grants`` prints it."""
    schemas = [s for (s,) in conn.execute(
        "select nspname from pg_namespace where nspname = any(%s) order by 1",
        (list(LOADER_SCHEMAS + TRANSFORMER_SCHEMAS + ("ops",)),))]
    out: dict[str, list[str]] = {}
    for role in (*PIPELINE_ROLES, *GROUP_ROLES, *agency_roles(settings), *body_roles(settings)):
        lines = []
        on_database = [p for p in ("connect", "create", "temporary") if conn.execute(
            "select has_database_privilege(%s, current_database(), %s)", (role, p)).fetchone()[0]]
        if on_database:
            lines.append(f"database: {', '.join(on_database)}")
        for schema in schemas:
            rights = [p for p in ("usage", "create") if conn.execute(
                "select has_schema_privilege(%s, %s, %s)", (role, schema, p)).fetchone()[0]]
            if rights:
                lines.append(f"schema {schema}: {', '.join(rights)}")
            if "usage" not in rights or schema == "landing":
                continue  # tables out of reach say nothing; landing tables live for one load only
            # functions the role may call (a security-definer one acts with its owner's rights)
            lines.extend(f"function {f}: execute" for (f,) in conn.execute(
                "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                "where n.nspname = %(s)s and has_function_privilege(%(r)s, p.oid, 'execute') order by 1",
                {"r": role, "s": schema}))
            rows = conn.execute(
                "select c.relname, has_table_privilege(%(r)s, c.oid, 'select'), has_table_privilege(%(r)s, c.oid, "
                "'insert'), has_table_privilege(%(r)s, c.oid, 'update'), has_table_privilege(%(r)s, c.oid, 'delete') "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %(s)s and c.relkind in ('r', 'p', 'v', 'm') order by 1",
                {"r": role, "s": schema}).fetchall()
            # the loader's schemas hold one table per file, named <agency>__<feed>...: rights are per agency,
            # so they are listed per family (<agency>__*), whichever files happen to exist
            families: dict[str, set[str]] = {}
            for name, *flags in rows:
                family = name.split("__")[0] + "__*" if "__" in name and schema in LOADER_SCHEMAS else name
                families.setdefault(family, set()).add(
                    ", ".join(p for p, ok in zip(PRIVILEGES, flags, strict=True) if ok))
            every = {r for rights in families.values() for r in rights}
            if schema not in LOADER_SCHEMAS and len(every) == 1:
                if every != {""}:
                    lines.append(f"table {schema}.*: {every.pop()}")
                continue
            for family, rights in sorted(families.items()):
                for rights_text in sorted(r for r in rights if r):
                    lines.append(f"table {schema}.{family}: {rights_text}")
        out[role] = lines
    return out
