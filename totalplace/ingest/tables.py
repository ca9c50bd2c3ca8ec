"""The tables one file passes through, and the feed's published table.

``landing.<agency>__<feed>__f<id>`` holds the file's cells as text (COPY), ``<that>__typed`` the same
rows cast to the contract's types (the gate reads it); published, the typed table becomes the
file's partition of ``raw.<agency>__<feed>``; rejected, the landing table moves to ``quarantine``.
The raw table is made (and given a newer contract's columns) when the platform is prepared.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from connectors.header import HeaderMatch
from totalplace.access import protect
from totalplace.contracts import Contract
from totalplace.settings import Settings
from totalplace.warehouse import bootstrap, connect, pipeline_url, warehouse_url


@dataclass(frozen=True)
class LandingTable:
    schema: str
    name: str

    @property
    def ident(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.name)

    @property
    def typed(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.typed_name)

    @property
    def typed_name(self) -> str:
        return f"{self.name}__typed"


def landing_table(contract: Contract, file_id: int) -> LandingTable:
    return LandingTable("landing", f"{contract.key}__f{file_id}")


def landed_columns(contract: Contract, match: HeaderMatch) -> list[str]:
    """Every text column of the landing table: the contract's header columns (absent optional
    ones stay NULL), then the file's measure and unknown columns."""
    return [c.name for c in contract.header_columns] + list(match.measures) + list(match.unknown) + match.derived


def drop_landing(conn: psycopg.Connection, table: LandingTable) -> None:
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    conn.execute(sql.SQL("drop table if exists {}").format(table.ident))


def raw_table(contract: Contract) -> sql.Composed:
    return sql.Identifier("raw", contract.key)


def prepare(settings: Settings, contract: Contract) -> str:
    """The loader's warehouse URL, with the platform schemas and this feed's raw table in place.

    What a task runs before its work - and when the warehouse is as ``totalplace up`` (or ``totalplace
    migrate``) left it, that is two catalogue reads and no DDL: no lock that concurrent tasks could
    deadlock on. Only a warehouse behind its version (the platform upgraded under a running scheduler)
    or a feed's first file (a contract added since) makes it change anything."""
    bootstrap(warehouse_url(settings), settings)
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        ensure_raw_table(conn, contract)
    return url


RAW_HOUSEKEEPING = [("_sent_by", "text"), ("_agreement", "text")]


def ensure_raw_table(conn: psycopg.Connection, contract: Contract) -> list[str]:
    """Create ``raw.<agency>__<feed>`` from the contract; add columns a newer contract introduced.
    Returns what it changed - nothing (and no DDL run) when the table is already as the contract says.

    The table is partitioned by ``_file_id``: each published file is one partition, attached in
    a single statement, so publishing a million rows moves none of them and a file can later be
    superseded or removed as a whole.
    """
    wanted = [(name, sql_type) for name, sql_type, _ in contract.raw_columns] + RAW_HOUSEKEEPING
    present = {name for (name,) in conn.execute(
        "select a.attname from pg_attribute a where a.attrelid = to_regclass(%s) and a.attnum > 0 "
        "and not a.attisdropped", (f"raw.{contract.key}",)).fetchall()}
    protected = conn.execute("select 1 from pg_policies where schemaname = 'raw' and tablename = %s "
                             "and policyname = 'agency_rows' and qual ilike '%%readable_bodies%%'", (contract.key,)).fetchone()
    missing = [(name, sql_type) for name, sql_type in wanted if name not in present]
    if present and not missing and protected:
        return []
    changes = []
    if not present:
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(sql_type)) for name, sql_type, _ in contract.raw_columns)
        wide = sql.SQL("_column_number integer not null, ") if contract.unpivot else sql.SQL("")
        conn.execute(sql.SQL(
            "create table if not exists {} ({}, _extra jsonb, _sent_by text, _agreement text, _file_id bigint not null, "
            "_row_number bigint not null, {}primary key ({})) partition by list (_file_id)"
        ).format(raw_table(contract), columns, wide, sql.SQL(", ").join(sql.Identifier(k) for k in contract.row_key)))
        conn.execute(sql.SQL("comment on table {} is {}").format(raw_table(contract), sql.Literal(
            f"{contract.title}: published rows, one partition per file (feed contract "
            f"feeds/{contract.agency}/{contract.feed}.yml)")))
        changes.append(f"created raw.{contract.key}")
    else:
        for name, sql_type in missing:
            conn.execute(sql.SQL("alter table {} add column if not exists {} {}").format(
                raw_table(contract), sql.Identifier(name), sql.SQL(sql_type)))
            changes.append(f"raw.{contract.key}: added column {name} {sql_type}")
    if not protected:
        protect(conn, raw_table(contract), contract.agency)
        changes.append(f"raw.{contract.key}: row-level security")
    return changes


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
