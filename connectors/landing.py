"""Streaming a file into ``landing`` with PostgreSQL COPY, and the typed table the gate reads.

Each file gets its own UNLOGGED landing table (``landing.<agency>__<feed>__f<file_id>``) with
every column as text, so COPY never fails on a value: bad values are the gate's business and
are reported by row. ``_row_number`` is an identity column, numbered by COPY in file order, and
``_file_id`` a column default - the bytes go from disk to PostgreSQL without per-row Python.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from connectors.header import HeaderMatch
from totalplace.contracts import DATE_FORMATS, Column, Contract

COPY_CHUNK = 1 << 20

PG_ENCODINGS = {"utf-8": "UTF8", "cp1252": "WIN1252"}


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
    def typed(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.typed_name)

    @property
    def typed_name(self) -> str:
        return f"{self.name}__typed"


def landing_table(contract: Contract, file_id: int) -> LandingTable:
    return LandingTable("landing", f"{contract.key}__f{file_id}")


def create_landing_table(
    conn: psycopg.Connection, table: LandingTable, contract: Contract, match: HeaderMatch, file_id: int
) -> None:
    columns = [c.name for c in contract.columns] + list(match.unknown)
    drop_landing(conn, table)
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
    conn: psycopg.Connection, table: LandingTable, match: HeaderMatch, path: Path, contract: Contract,
    encoding: str = "utf-8",
) -> int:
    """COPY the file's bytes into the landing table; returns the number of data rows."""
    # PostgreSQL decodes UTF-8 and Windows-1252 itself; other encodings (Mac Roman) are re-encoded
    # to UTF-8 on the way, chunk by chunk
    transcode = encoding not in PG_ENCODINGS
    statement = sql.SQL(
        "copy {} ({}) from stdin with (format csv, header true, delimiter {}, encoding {})"
    ).format(
        table.ident,
        sql.SQL(", ").join(sql.Identifier(t) for t in match.targets),
        sql.Literal(contract.format.delimiter),
        sql.Literal("UTF8" if transcode else PG_ENCODINGS[encoding]),
    )
    decoder = codecs.getincrementaldecoder(encoding)() if transcode else None
    try:
        with conn.cursor() as cur:
            with cur.copy(statement) as copy, path.open("rb") as fh:
                fh.seek(match.offset)  # title rows above the header are not sent
                while chunk := fh.read(COPY_CHUNK):
                    copy.write(decoder.decode(chunk).encode() if decoder else chunk)
            return cur.rowcount
    except psycopg.errors.DataError as exc:
        context = exc.diag.context or ""
        found = re.search(r"line (\d+)", context)
        line = int(found.group(1)) if found else None
        detail = exc.diag.message_primary or str(exc)
        raise CopyFailed(detail, line) from exc


def _text(col: Column) -> sql.Composable:
    """The cell with surrounding spaces removed, NULL when empty.

    ``btrim`` on every cell is the most expensive step of a load (measured: 3.4 s of a 1M-row,
    12-column police file), so it runs only on cells that start or end with a space.
    """
    return sql.SQL(
        "case when left({c}, 1) = ' ' or right({c}, 1) = ' ' then nullif(btrim({c}), '') else nullif({c}, '') end"
    ).format(c=sql.Identifier(col.name))


def _guard(col: Column, server_version: int) -> sql.Composable:
    """SQL that is true when the column's trimmed text can be cast to its type.

    PostgreSQL >= 16 has ``pg_input_is_valid``, several times cheaper than a regular expression;
    older servers fall back to the contract type's pattern. Bounded repetitions such as ``{64}``
    are slow in PostgreSQL's regex engine, so the patterns here avoid them.
    """
    text = _text(col)
    if col.type == "date":
        return sql.SQL("({})").format(sql.SQL(" or ").join(_date_guards(col, text)))
    if col.type == "timestamp":
        # ISO 8601 shape first: pg_input_is_valid alone would also take words such as 'now' or 'epoch'
        return sql.SQL("(case when {t} ~ {p} then pg_input_is_valid({t}, 'timestamptz') else false end)").format(
            t=text, p=sql.Literal(col.value_pattern))
    if col.thousands_separator or server_version < 160000 or col.type in ("month", "money"):
        guard = sql.SQL("{} ~ {}").format(text, sql.Literal(col.value_pattern))
        if col.type == "integer":  # a pattern cannot rule out bigint overflow
            guard = sql.SQL("({} and length({}) <= 18)").format(guard, text)
        return guard
    if col.type == "number":
        # letters other than an exponent would let 'NaN' and 'Infinity' through pg_input_is_valid
        return sql.SQL("({t} !~ '[^0-9eE.+-]' and pg_input_is_valid({t}, 'double precision'))").format(t=text)
    # integer: digits only, since pg_input_is_valid alone would accept '0x1F' and '1_000'
    return sql.SQL("({t} !~ '[^0-9+-]' and pg_input_is_valid({t}, 'bigint'))").format(t=text)


def _date_guards(col: Column, text: sql.Composable) -> list[sql.Composable]:
    """One condition per accepted format: the text has the format's shape and is a real date."""
    guards = []
    for name in col.formats:
        pattern, iso = DATE_FORMATS[name]
        iso_sql = sql.SQL(iso.replace("{t}", "{}")).format(*([text] * iso.count("{t}")))
        # CASE fixes the order: the ISO conversion may only see text of the format's shape
        guards.append(sql.SQL("(case when {t} ~ {p} then coalesce(pg_input_is_valid({iso}, 'date'), false) "
                              "else false end)").format(t=text, p=sql.Literal(pattern), iso=iso_sql))
    return guards


def _date_value(col: Column, text: sql.Composable) -> sql.Composable:
    whens = []
    for name, guard in zip(col.formats, _date_guards(col, text), strict=True):
        iso = DATE_FORMATS[name][1]
        iso_sql = sql.SQL(iso.replace("{t}", "{}")).format(*([text] * iso.count("{t}")))
        whens.append(sql.SQL("when {} then ({})::date").format(guard, iso_sql))
    return sql.SQL("case {} end").format(sql.SQL(" ").join(whens))


def _value_expression(col: Column, server_version: int) -> sql.Composable:
    """SQL turning the trimmed text of a column into its contract type, NULL when it does not parse."""
    text = _text(col)
    if col.type == "date":
        return _date_value(col, text)
    if col.type == "money":
        # "(1,496.00)" is -1496.00; currency sign, separators and brackets go before the cast
        return sql.SQL(
            "case when {g} then (case when {t} like '(%' then -1 else 1 end) "
            "* regexp_replace({t}, '[£,()+ ]', '', 'g')::numeric(18, 2) end"
        ).format(g=_guard(col, server_version), t=text)
    plain = text
    if col.thousands_separator:
        plain = sql.SQL("replace({}, {}, '')").format(text, sql.Literal(col.thousands_separator))
    cast = {
        "integer": sql.SQL("{}::bigint"),
        "number": sql.SQL("{}::double precision"),
        "month": sql.SQL("to_date({} || '-01', 'YYYY-MM-DD')"),
        "timestamp": sql.SQL("{}::timestamptz"),
    }[col.type].format(plain)
    return sql.SQL("case when {} then {} end").format(_guard(col, server_version), cast)


def create_typed_table(conn: psycopg.Connection, table: LandingTable, contract: Contract, match: HeaderMatch) -> int:
    """``<landing>__typed``: every contract column trimmed and cast to its type, extras as JSON.

    Built in one pass (CREATE TABLE AS, which PostgreSQL can run in parallel). The gate validates
    this table and, if it passes, the very same table becomes the file's partition of
    ``raw.<agency>__<feed>`` - so what was checked is exactly what is published, and publishing
    moves no rows. Returns the number of data rows (empty rows are left out). ``<col>__invalid`` holds the text of a cell that does not parse as its type
    (else NULL; ``''`` for an empty cell in a column that must not be empty): the gate expects it to
    be NULL, and its report shows the sender's own value.
    """
    version = conn.info.server_version
    items: list[sql.Composable] = [sql.SQL("_file_id"), sql.SQL("_row_number")]
    for col in contract.columns:
        text = _text(col)
        if col.type == "text":
            items.append(sql.SQL("{} as {}").format(text, sql.Identifier(col.name)))
        else:
            # the explicit cast pins the column type (e.g. numeric(18, 2)) to the raw table's
            items.append(sql.SQL("({})::{} as {}").format(
                _value_expression(col, version), sql.SQL(col.sql_type), sql.Identifier(col.name)))
            # an empty cell in a column that must not be empty is invalid too, shown as ''
            empty = sql.SQL("''") if not col.nullable else sql.SQL("null")
            markers = sql.Literal(col.suppression_markers)
            items.append(sql.SQL(
                "case when {t} is null then {e} when {t} = any({m}) then null when not ({g}) then {t} end as {n}"
            ).format(t=text, e=empty, m=markers, g=_guard(col, version), n=sql.Identifier(invalid_column(col))))
            if col.flag_column:
                items.append(sql.SQL("coalesce({t} = any({m}), false) as {f}").format(
                    t=text, m=markers, f=sql.Identifier(col.flag_column)))
    if match.unknown:
        pairs = sql.SQL(", ").join(
            sql.SQL("{}, {}").format(sql.Literal(header), sql.Identifier(extra))
            for extra, header in match.unknown.items()
        )
        items.append(sql.SQL("jsonb_strip_nulls(jsonb_build_object({})) as _extra").format(pairs))
    else:
        items.append(sql.SQL("null::jsonb as _extra"))
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    # rows with no value at all (trailing ",,,,," lines exports leave behind) are not data
    landed = [sql.Identifier(c.name) for c in contract.columns] + [sql.Identifier(e) for e in match.unknown]
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("create table {} as select {} from {} where num_nonnulls({}) > 0").format(
                table.typed, sql.SQL(", ").join(items), table.ident, sql.SQL(", ").join(landed))
        )
        rows = cur.rowcount
    conn.execute(
        sql.SQL("alter table {} alter column _file_id set not null, alter column _row_number set not null").format(
            table.typed
        )
    )
    return rows


def invalid_column(col: Column) -> str:
    return f"{col.name}__invalid"


def drop_landing(conn: psycopg.Connection, table: LandingTable) -> None:
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    conn.execute(sql.SQL("drop table if exists {}").format(table.ident))
