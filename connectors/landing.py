"""Streaming a file into ``landing`` with PostgreSQL COPY, and the typed view the gate reads.

Each file gets its own UNLOGGED landing table (``landing.<agency>__<feed>__f<file_id>``) with
every column as text, so COPY never fails on a value: bad values are the gate's business and
are reported by row. ``_row_number`` is an identity column, numbered by COPY in file order, and
``_file_id`` a column default - the bytes go from disk to PostgreSQL without per-row Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from connectors.header import HeaderMatch
from totalplace.contracts import Column, Contract

COPY_CHUNK = 1 << 20

PG_ENCODINGS = {"utf-8": "UTF8"}


class CopyFailed(Exception):
    """COPY rejected the file's structure (e.g. a ragged row); carries the file line when known."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class LandingTable:
    schema: str
    name: str

    @property
    def ident(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.name)

    @property
    def view(self) -> sql.Composed:
        return sql.Identifier(self.schema, f"{self.name}__typed")

    @property
    def view_name(self) -> str:
        return f"{self.name}__typed"


def landing_table(contract: Contract, file_id: int) -> LandingTable:
    return LandingTable("landing", f"{contract.key}__f{file_id}")


def create_landing_table(
    conn: psycopg.Connection, table: LandingTable, contract: Contract, match: HeaderMatch, file_id: int
) -> None:
    columns = [c.name for c in contract.columns] + list(match.unknown)
    conn.execute(sql.SQL("drop view if exists {}").format(table.view))
    conn.execute(sql.SQL("drop table if exists {}").format(table.ident))
    conn.execute(
        sql.SQL(
            "create unlogged table {} (_row_number bigint generated always as identity, "
            "_file_id bigint not null default {}, {})"
        ).format(
            table.ident,
            sql.Literal(file_id),
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns),
        )
    )


def copy_file(
    conn: psycopg.Connection, table: LandingTable, match: HeaderMatch, path: Path, contract: Contract
) -> int:
    """COPY the file's bytes into the landing table; returns the number of data rows."""
    statement = sql.SQL(
        "copy {} ({}) from stdin with (format csv, header true, delimiter {}, encoding {})"
    ).format(
        table.ident,
        sql.SQL(", ").join(sql.Identifier(t) for t in match.targets),
        sql.Literal(contract.format.delimiter),
        sql.Literal(PG_ENCODINGS[contract.format.encoding]),
    )
    try:
        with conn.cursor() as cur:
            with cur.copy(statement) as copy, path.open("rb") as fh:
                while chunk := fh.read(COPY_CHUNK):
                    copy.write(chunk)
            return cur.rowcount
    except psycopg.errors.DataError as exc:
        context = exc.diag.context or ""
        found = re.search(r"line (\d+)", context)
        line = int(found.group(1)) if found else None
        detail = exc.diag.message_primary or str(exc)
        raise CopyFailed(detail, line) from exc


def _value_expression(col: Column) -> sql.Composable:
    """SQL turning the trimmed text of a column into its contract type, NULL when it does not parse."""
    text = sql.SQL("nullif(btrim({}), '')").format(sql.Identifier(col.name))
    if col.type == "text":
        return text
    plain = text
    if col.thousands_separator:
        plain = sql.SQL("replace({}, {}, '')").format(text, sql.Literal(col.thousands_separator))
    cast = {
        "integer": sql.SQL("{}::bigint"),
        "number": sql.SQL("{}::double precision"),
        "month": sql.SQL("to_date({} || '-01', 'YYYY-MM-DD')"),
        "date": sql.SQL("{}::date"),
    }[col.type].format(plain)
    return sql.SQL("case when {} ~ {} then {} end").format(text, sql.Literal(col.value_pattern), cast)


def create_typed_view(conn: psycopg.Connection, table: LandingTable, contract: Contract, match: HeaderMatch) -> None:
    """``<landing>__typed``: trimmed text of every column, ``<col>__value`` typed, extras as JSON.

    The gate validates this view and the publish step inserts from it, so the casts are written
    once and what was checked is exactly what is published.
    """
    items: list[sql.Composable] = [sql.SQL("_file_id"), sql.SQL("_row_number")]
    for col in contract.columns:
        text = sql.SQL("nullif(btrim({}), '')").format(sql.Identifier(col.name))
        items.append(sql.SQL("{} as {}").format(text, sql.Identifier(col.name)))
        if col.type != "text":
            items.append(sql.SQL("{} as {}").format(_value_expression(col), sql.Identifier(f"{col.name}__value")))
    if match.unknown:
        pairs = sql.SQL(", ").join(
            sql.SQL("{}, {}").format(sql.Literal(header), sql.Identifier(extra))
            for extra, header in match.unknown.items()
        )
        items.append(sql.SQL("jsonb_strip_nulls(jsonb_build_object({})) as _extra").format(pairs))
    else:
        items.append(sql.SQL("null::jsonb as _extra"))
    conn.execute(
        sql.SQL("create or replace view {} as select {} from {}").format(
            table.view, sql.SQL(", ").join(items), table.ident
        )
    )


def drop_landing(conn: psycopg.Connection, table: LandingTable) -> None:
    conn.execute(sql.SQL("drop view if exists {}").format(table.view))
    conn.execute(sql.SQL("drop table if exists {}").format(table.ident))
