"""Moving a gated file's rows out of ``landing``: into ``raw`` (publish) or ``quarantine``.

Both are set-based statements run in the caller's transaction, together with the ledger update
that describes them - so a file is published whole or not at all, and the ledger never says
``published`` for rows that are not there.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from connectors.landing import LandingTable, invalid_column
from totalplace.access import protect
from totalplace.contracts import Contract


def raw_table(contract: Contract) -> sql.Composed:
    return sql.Identifier("raw", contract.key)


def ensure_raw_table(conn: psycopg.Connection, contract: Contract) -> None:
    """Create ``raw.<agency>__<feed>`` from the contract; add columns a newer contract introduced.

    The table is partitioned by ``_file_id``: each published file is one partition, attached in
    a single statement, so publishing a million rows moves none of them and a file can later be
    superseded or removed as a whole.
    """
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(sql_type)) for name, sql_type, _ in contract.raw_columns
    )
    wide = sql.SQL("_column_number integer not null, ") if contract.unpivot else sql.SQL("")
    conn.execute(
        sql.SQL(
            "create table if not exists {} ({}, _extra jsonb, _sent_by text, _agreement text, _file_id bigint not null, "
            "_row_number bigint not null, {}primary key ({})) partition by list (_file_id)"
        ).format(raw_table(contract), columns, wide, sql.SQL(", ").join(sql.Identifier(k) for k in contract.row_key))
    )
    protected = conn.execute("select 1 from pg_policies where schemaname = 'raw' and tablename = %s "
                             "and policyname = 'agency_rows' and qual ilike '%%readable_bodies%%'", (contract.key,)).fetchone()
    if not protected:
        protect(conn, raw_table(contract), contract.agency)
    for name, sql_type, _ in [*contract.raw_columns, ("_sent_by", "text", ""), ("_agreement", "text", "")]:
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                raw_table(contract), sql.Identifier(name), sql.SQL(sql_type)
            )
        )
    conn.execute(
        sql.SQL("comment on table {} is {}").format(
            raw_table(contract),
            sql.Literal(f"{contract.title}: published rows, one partition per file "
                        f"(feed contract feeds/{contract.agency}/{contract.feed}.yml)"),
        )
    )


def migrate_raw_types(conn: psycopg.Connection, contract: Contract) -> list[str]:
    """Give the published rows the types the contract declares now (money taking more decimal places,
    numeric(18,2) -> numeric(21,5)), once, as the warehouse's owner when the platform is prepared
    (``totalplace up``, each run) - never in a load task, whose new partition would otherwise not
    attach to the table. Views over the table (dbt's staging) are dropped first, as PostgreSQL
    cannot change a column under a view; the next build, which the new file triggers, makes them
    again. Returns what was changed."""
    exists = conn.execute("select to_regclass(%s)", (f"raw.{contract.key}",)).fetchone()[0]
    if exists is None:
        return []
    current = dict(conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped", (f"raw.{contract.key}",)).fetchall())
    changes = []
    for name, sql_type, _ in contract.raw_columns:
        wanted = conn.execute("select format_type(%s::regtype, null)", (sql_type,)).fetchone()[0]
        if current.get(name) and not _same_type(current[name], wanted, sql_type):
            changes.append((name, current[name], sql_type))
    if not changes:
        return []
    views = [v for (v,) in conn.execute(
        "select distinct v.oid::regclass::text from pg_depend d join pg_rewrite r on r.oid = d.objid "
        "join pg_class v on v.oid = r.ev_class where d.refobjid = %s::regclass and v.oid <> d.refobjid",
        (f"raw.{contract.key}",))]
    for view in views:
        conn.execute(sql.SQL("drop view if exists {} cascade").format(sql.SQL(view)))
    for name, _, sql_type in changes:
        conn.execute(sql.SQL("alter table {} alter column {} type {} using {}::{}").format(
            raw_table(contract), sql.Identifier(name), sql.SQL(sql_type), sql.Identifier(name), sql.SQL(sql_type)))
    return [f"raw.{contract.key}.{name}: {old} -> {new}" for name, old, new in changes] + [
        f"dropped view {v} (rebuilt by the next build)" for v in views]


def _same_type(current: str, base: str, declared: str) -> bool:
    """True when the column's type is the contract's (``numeric(21,5)`` and ``numeric(21, 5)`` alike)."""
    return current.replace(" ", "") in (declared.replace(" ", ""), base.replace(" ", "")) and (
        "(" not in declared or current.replace(" ", "") == declared.replace(" ", ""))


def publish_rows(conn: psycopg.Connection, contract: Contract, table: LandingTable, file_id: int) -> int:
    """Make a gated file's typed table its partition of raw; returns the number of rows."""
    helpers = [invalid_column(c) for c in contract.columns if c.type != "text"]
    partition = f"{contract.key}__f{file_id}"
    if helpers:
        conn.execute(sql.SQL("alter table {} {}").format(
            table.typed, sql.SQL(", ").join(sql.SQL("drop column {}").format(sql.Identifier(h)) for h in helpers)))
    conn.execute(sql.SQL("alter table {} reset (autovacuum_enabled)").format(table.typed))
    if contract.person_identifiers:  # unlogged while it was checked (landing.create_typed_table)
        conn.execute(sql.SQL("alter table {} set logged").format(table.typed))
    conn.execute(sql.SQL("alter table {} set schema raw").format(table.typed))
    conn.execute(sql.SQL("alter table {} rename to {}").format(
        sql.Identifier("raw", table.typed_name), sql.Identifier(partition)))
    # made in landing, so raw's default privileges did not apply: the same rights as raw's own tables
    conn.execute(sql.SQL("grant select on {} to transformer").format(sql.Identifier("raw", partition)))
    # the partition constraint is proven by this CHECK instead of a scan at ATTACH time
    conn.execute(sql.SQL("alter table {} add constraint {} check (_file_id = {})").format(
        sql.Identifier("raw", partition), sql.Identifier(f"{partition}_file"), sql.Literal(file_id)))
    conn.execute(sql.SQL("alter table {} attach partition {} for values in ({})").format(
        raw_table(contract), sql.Identifier("raw", partition), sql.Literal(file_id)))
    rows = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("raw", partition))).fetchone()[0]
    conn.execute(sql.SQL("analyze {}").format(sql.Identifier("raw", partition)))
    return rows


REDACTED = "[redacted]"


def quarantine_rows(conn: psycopg.Connection, table: LandingTable, contract: Contract,
                    sent_by: str | None = None) -> None:
    """Keep a rejected file's rows in ``quarantine`` for audit: as received - or, for a person-level
    feed, redacted: its pseudonyms (made before PostgreSQL saw a byte) stay, every other filled cell
    becomes ``[redacted]``, so nothing of what the sender typed (an NHS number in a cost column, a
    name in a note) is kept in clear. Its report names row and column, which is what a sender fixes."""
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    target = sql.Identifier("quarantine", table.name)
    conn.execute(sql.SQL("drop table if exists {}").format(target))
    if not contract.person_identifiers:
        conn.execute(sql.SQL("alter table {} set schema quarantine").format(table.ident))
        conn.execute(sql.SQL("alter table {} set logged").format(target))
        conn.execute(sql.SQL("alter table {} reset (autovacuum_enabled)").format(target))
        return
    pseudonyms = {c.name for c in contract.columns if c.identifier in ("nhs_number", "person_key")} | {"match_key"}
    columns = [r[0] for r in conn.execute(
        "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped "
        "order by attnum", (f"landing.{table.name}",)).fetchall()]
    kept = [sql.Identifier(c) if c in ("_row_number", "_file_id") or c in pseudonyms or c.endswith("__valid")
            else sql.SQL("case when nullif({c}, '') is not null then {r} end as {c}").format(
                c=sql.Identifier(c), r=sql.Literal(REDACTED)) for c in columns]
    conn.execute(sql.SQL("create table {} as select {} from {}").format(target, sql.SQL(", ").join(kept), table.ident))
    conn.execute(sql.SQL("drop table {}").format(table.ident))
    protect(conn, target, contract.agency, sent_by)
