"""Moving a gated file's rows out of ``landing``: into ``raw`` (publish) or ``quarantine``.

Both are set-based statements run in the caller's transaction, together with the ledger update
that describes them - so a file is published whole or not at all, and the ledger never says
``published`` for rows that are not there.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from connectors.landing import LandingTable
from totalplace.contracts import Contract


def raw_table(contract: Contract) -> sql.Composed:
    return sql.Identifier("raw", contract.key)


def ensure_raw_table(conn: psycopg.Connection, contract: Contract) -> None:
    """Create ``raw.<agency>__<feed>`` from the contract; add columns a newer contract introduced."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in contract.columns
    )
    conn.execute(
        sql.SQL(
            "create table if not exists {} ({}, _extra jsonb, _file_id bigint not null, "
            "_row_number bigint not null, primary key (_file_id, _row_number))"
        ).format(raw_table(contract), columns)
    )
    for c in contract.columns:
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                raw_table(contract), sql.Identifier(c.name), sql.SQL(c.sql_type)
            )
        )
    conn.execute(
        sql.SQL("comment on table {} is {}").format(
            raw_table(contract), sql.Literal(f"{contract.title}: published rows (feed contract feeds/{contract.agency}/{contract.feed}.yml)")
        )
    )


def publish_rows(conn: psycopg.Connection, contract: Contract, table: LandingTable) -> int:
    """Insert the typed rows of a landing table into raw; returns the number of rows."""
    targets = [c.name for c in contract.columns] + ["_extra", "_file_id", "_row_number"]
    sources = [
        sql.Identifier(c.name if c.type == "text" else f"{c.name}__value") for c in contract.columns
    ] + [sql.Identifier("_extra"), sql.Identifier("_file_id"), sql.Identifier("_row_number")]
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("insert into {} ({}) select {} from {}").format(
                raw_table(contract),
                sql.SQL(", ").join(sql.Identifier(t) for t in targets),
                sql.SQL(", ").join(sources),
                table.view,
            )
        )
        return cur.rowcount


def quarantine_rows(conn: psycopg.Connection, table: LandingTable) -> None:
    """Keep the rows exactly as received, in ``quarantine``, for the sender's report and for audit."""
    conn.execute(sql.SQL("drop view if exists {}").format(table.view))
    conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("quarantine", table.name)))
    conn.execute(sql.SQL("alter table {} set schema quarantine").format(table.ident))
    conn.execute(sql.SQL("alter table {} set logged").format(sql.Identifier("quarantine", table.name)))
