"""Streaming a file into ``landing`` with PostgreSQL COPY, and the typed table the gate reads.

Each file gets its own UNLOGGED landing table (``landing.<agency>__<feed>__f<file_id>``) with
every column as text, so COPY never fails on a value: bad values are the gate's business and
are reported by row. ``_row_number`` is an identity column, numbered by COPY in file order, and
``_file_id`` a column default - the bytes go from disk to PostgreSQL without per-row Python.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from connectors.header import HEADER_READ_BYTES, HeaderMatch
from connectors.pseudonymise import validity_column
from totalplace import failpoints
from totalplace.access import protect
from totalplace.contracts import DATE_FORMATS, FLOAT_NOISE, NOISY_NUMBER_PATTERN, Column, Contract

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
    drop_landing(conn, table)
    conn.execute(
        # unlogged: the sender's raw text never reaches the write-ahead log (or a replica, or an archive);
        # no autovacuum: an ANALYZE would copy its most common values into pg_statistic
        sql.SQL(
            "create unlogged table {} (_row_number bigint generated always as identity, "
            "_file_id bigint not null default {}, {}) with (autovacuum_enabled = false)"
        ).format(
            table.ident,
            sql.Literal(file_id),
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in landed_columns(contract, match)),
        )
    )
    # row-level security comes after the COPY (PostgreSQL refuses COPY into a table whose policies
    # apply to the copier), in the same transaction - so no other session ever sees the table without it


def landed_columns(contract: Contract, match: HeaderMatch) -> list[str]:
    """Every text column of the landing table: the contract's header columns (absent optional
    ones stay NULL), then the file's measure and unknown columns."""
    return [c.name for c in contract.header_columns] + list(match.measures) + list(match.unknown) + match.derived


def copy_file(
    conn: psycopg.Connection, table: LandingTable, match: HeaderMatch, path: Path, contract: Contract,
    encoding: str = "utf-8", *, pad_short_rows: bool = False,
    transform: Callable[[list[str]], list[str]] | None = None,
) -> int:
    """COPY the file's bytes into the landing table; returns the number of data rows.

    The bytes go to PostgreSQL as they are. ``pad_short_rows`` is the slow path for a file with
    empty lines or one-cell note lines in it (which COPY refuses): the file is re-read with
    Python's csv module and those lines padded to the header's width, so row numbers stay those
    of the file and the typed table can set them aside. Only ever used after a plain COPY failed.
    ``transform`` rewrites each record on the same path - person identifiers are pseudonymised
    there, so they never reach PostgreSQL.
    """
    # PostgreSQL decodes UTF-8 and Windows-1252 itself; other encodings (Mac Roman) are re-encoded
    # to UTF-8 on the way, chunk by chunk
    rewrite = pad_short_rows or transform is not None
    transcode = encoding not in PG_ENCODINGS or rewrite
    # the bytes as they are start after the header record, as Python's csv module read it: PostgreSQL's
    # own header skipping parses the header too, and a stray quote in it ('x"; drop table y') swallowed
    # the whole file as one header line - no rows, no error
    start = match.offset if rewrite or not match.has_header else _data_offset(path, match, encoding,
                                                                                contract.format.delimiter)
    skip_header = match.has_header and (rewrite or start == match.offset)
    columns = sql.SQL(", ").join(sql.Identifier(t) for t in match.targets + match.derived)
    # force_null: a quoted empty cell ("") lands as NULL like an unquoted one, so the typed table
    # need not test every cell for ''
    statement = sql.SQL(
        "copy {} ({}) from stdin with (format csv, header {}, delimiter {}, encoding {}, force_null ({}))"
    ).format(
        table.ident, columns,
        sql.SQL("true" if skip_header else "false"),
        sql.Literal(contract.format.delimiter),
        sql.Literal("UTF8" if transcode else PG_ENCODINGS[encoding]),
        columns,
    )
    if pad_short_rows:  # numbers the refused COPY drew from the identity are not given back
        conn.execute(sql.SQL("alter table {} alter column _row_number restart with 1").format(table.ident))
    try:
        # a savepoint: a refused COPY leaves the landing table in place for a retry
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(statement) as copy:
                for n, chunk in enumerate(_chunks(path, match, encoding, contract.format.delimiter, transcode,
                                                  pad_short_rows, transform, start)):
                    copy.write(chunk)
                    if n == 1:
                        failpoints.hit("copy", conn, conn.info.dsn)
            return cur.rowcount
    except psycopg.errors.DataError as exc:
        context = exc.diag.context or ""
        found = re.search(r"line (\d+)", context)
        line = int(found.group(1)) if found else None
        detail = exc.diag.message_primary or str(exc)
        if line is not None and match.has_header and not skip_header:
            line += 1  # COPY counted from the first data line: callers count from the header line
        raise CopyFailed(detail, line) from exc


def _data_offset(path: Path, match: HeaderMatch, encoding: str, delimiter: str) -> int:
    """Byte offset of the line after the header record (``match.offset`` when it cannot be told: the
    header is then left for COPY to skip, as before)."""
    with path.open("rb") as fh:
        fh.seek(match.offset)
        head = fh.read(HEADER_READ_BYTES)
    reader = csv.reader(io.StringIO(head.decode(encoding, errors="replace"), newline=""), delimiter=delimiter)
    try:
        next(reader)
    except (StopIteration, csv.Error):
        return match.offset
    offset = 0
    for _ in range(reader.line_num):
        found = head.find(b"\n", offset)
        if found < 0:
            return match.offset  # lines not ended by \n (bare CR) or a header longer than the bytes read
        offset = found + 1
    return match.offset + offset


def _chunks(path: Path, match: HeaderMatch, encoding: str, delimiter: str, transcode: bool, pad: bool,
            transform: Callable[[list[str]], list[str]] | None, start: int | None = None):
    with path.open("rb") as fh:
        fh.seek(match.offset if start is None else start)  # title rows (and the header) above are not sent
        if pad or transform is not None:
            width = len(match.headers)
            text = io.TextIOWrapper(fh, encoding=encoding, newline="")
            out = io.StringIO()
            writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
            # strict: an unclosed quote is an error here, as it is to COPY - not one cell swallowing the rest
            reader = csv.reader(text, delimiter=delimiter, strict=True)
            try:
                if match.has_header:
                    writer.writerow(next(reader, []) + match.derived)  # the header (COPY skips it)
                for record in reader:
                    if pad and (len(record) <= 1 < width
                                or (len(record) < width and not any(c.strip() for c in record))):
                        record = record + [""] * (width - len(record))
                    writer.writerow(transform(record) if transform is not None else record)
                    if out.tell() >= COPY_CHUNK:
                        yield out.getvalue().encode()
                        out.seek(0)
                        out.truncate()
            except csv.Error as exc:
                raise CopyFailed(str(exc), reader.line_num + (match.header_line - 1 if match.has_header else 0)
                                 ) from exc
            yield out.getvalue().encode()
            return
        decoder = codecs.getincrementaldecoder(encoding)() if transcode else None
        while chunk := fh.read(COPY_CHUNK):
            yield decoder.decode(chunk).encode() if decoder else chunk


def _text(col: Column, cell: sql.Composable | None = None) -> sql.Composable:
    """The cell (default: the landing column of the same name) with surrounding spaces removed, NULL when empty.

    ``btrim`` on every cell is the most expensive step of a load (measured: 3.4 s of a 1M-row,
    12-column police file), so it runs only on cells that start or end with a space (LIKE is the
    cheapest test: about half the cost of ``left``/``right``). COPY's ``force_null`` has already
    made every empty cell NULL, so a cell without such spaces is used as it is.
    """
    cell = cell if cell is not None else sql.Identifier(col.name)
    if not isinstance(cell, sql.Identifier):  # a constant or a measure cell, not a landed column
        return sql.SQL("nullif(btrim({}), '')").format(cell)
    return sql.SQL("case when {c} like ' %' or {c} like '% ' then nullif(btrim({c}), '') else {c} end").format(c=cell)


def _guard(col: Column, server_version: int, text: sql.Composable) -> sql.Composable:
    """SQL that is true when the column's trimmed text can be cast to its type.

    PostgreSQL >= 16 has ``pg_input_is_valid``, several times cheaper than a regular expression;
    older servers fall back to the contract type's pattern. Bounded repetitions such as ``{64}``
    are slow in PostgreSQL's regex engine, so the patterns here avoid them.
    """
    if col.type == "date":
        return sql.SQL("({})").format(sql.SQL(" or ").join(_date_guards(col, text)))
    if col.type == "timestamp":
        # ISO 8601 shape first: pg_input_is_valid alone would also take words such as 'now' or 'epoch'
        return sql.SQL("(case when {t} ~ {p} then pg_input_is_valid({t}, 'timestamptz') else false end)").format(
            t=text, p=sql.Literal(col.value_pattern))
    if col.type == "month" and server_version >= 160000:
        # the shape by plain string functions (a regular expression costs ~1.5 s per million cells),
        # the rest - digits, month 01-12 - by the date parser
        return sql.SQL("(length({t}) = 7 and substr({t}, 5, 1) = '-' and translate({t}, '0123456789', '') = '-' "
                       "and pg_input_is_valid({t} || '-01', 'date'))").format(t=text)
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


def noisy_money(col: Column, text: sql.Composable) -> sql.Composable:
    """SQL true when a money cell is a program's rendering of a figure in whole pence (float noise,
    scientific notation), not a figure with more decimal places than the column takes."""
    # CASE orders the tests: the cast only sees text of a number's shape, and no figure beyond the
    # column's 16 digits (an exponent could otherwise overflow the cast and stop the whole load)
    return sql.SQL("(case when {t} ~ {p} then abs({t}::numeric) < 1e15 "
                   "and abs({t}::numeric - round({t}::numeric, {d})) <= {noise} else false end)").format(
        t=text, p=sql.Literal(NOISY_NUMBER_PATTERN), d=sql.Literal(col.decimals), noise=sql.Literal(FLOAT_NOISE))


def rounded_money(conn: psycopg.Connection, table: LandingTable, contract: Contract,
                  match: HeaderMatch) -> list[tuple[str, int, str]]:
    """(header, count, first example) of each money column whose cells were rounded from float noise
    or scientific notation - for the report: a rounding the sender should know the platform made."""
    found = []
    for col in contract.header_columns:
        if col.type != "money" or col.name not in match.targets:
            continue
        text = _text(col)
        count, example = conn.execute(sql.SQL(
            "select count(*), min({t}) from {table} where {t} !~ {p} and {noisy}").format(
            t=text, table=table.ident, p=sql.Literal(col.value_pattern), noisy=noisy_money(col, text))).fetchone()
        if count:
            found.append((match.headers[match.targets.index(col.name)], count, example))
    return found


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


def _value_expression(col: Column, server_version: int, text: sql.Composable) -> sql.Composable:
    """SQL turning the trimmed text of a column into its contract type, NULL when it does not parse."""
    if col.type == "date":
        return _date_value(col, text)
    if col.type == "money":
        # "(1,496.00)", "1,496.00-" and "1,496.00 CR" are -1496.00; currency sign, separators, brackets
        # and the credit mark go before the cast; a program's float noise or exponent is rounded to
        # the column's decimals when (only when) it is that close to them
        return sql.SQL(
            "case when {g} then (case when {t} like '(%' or {t} like '%-' or {t} ilike '%cr' then -1 else 1 end) "
            "* regexp_replace({t}, '[£,()+ ]|-$|[Cc][Rr]$', '', 'g')::{type} "
            "when {noisy} then round({t}::numeric, {d})::{type} end"
        ).format(g=_guard(col, server_version, text), t=text, type=sql.SQL(col.sql_type),
                 noisy=noisy_money(col, text), d=sql.Literal(col.decimals))
    plain = text
    if col.thousands_separator:
        plain = sql.SQL("replace({}, {}, '')").format(text, sql.Literal(col.thousands_separator))
    cast = {
        "integer": sql.SQL("{}::bigint"),
        "number": sql.SQL("{}::double precision"),
        "month": sql.SQL("({} || '-01')::date"),
        "timestamp": sql.SQL("{}::timestamptz"),
    }[col.type].format(plain)
    return sql.SQL("case when {} then {} end").format(_guard(col, server_version, text), cast)


@dataclass
class TypedTable:
    """What building the typed table found: data rows, and the rows that were not data."""

    rows: int
    empty_rows: int = 0
    footer: list[tuple[int, str]] = field(default_factory=list)
    """(row number, text) of note rows below the data ("Source: ...")."""
    totals: list[dict] = field(default_factory=list)
    """Totals rows the publisher added: row number, label and amounts; never loaded as data."""
    problems: list[str] = field(default_factory=list)
    """Reconciliation failures: the data does not add up to the file's own totals row."""


def create_typed_table(conn: psycopg.Connection, table: LandingTable, contract: Contract, match: HeaderMatch,
                       landed_rows: int, constants: dict[str, str | None] | None = None,
                       sent_by: str | None = None, agreement: str | None = None) -> TypedTable:
    """``<landing>__typed``: every contract column trimmed and cast to its type, extras as JSON.

    Built in one pass (CREATE TABLE AS, which PostgreSQL can run in parallel). The gate validates
    this table and, if it passes, the very same table becomes the file's partition of
    ``raw.<agency>__<feed>`` - so what was checked is exactly what is published, and publishing
    moves no rows. ``<col>__invalid`` holds the text of a cell that does not parse as its type
    (else NULL; ``''`` for an empty cell in a column that must not be empty): the gate expects it to
    be NULL, and its report shows the sender's own value.

    Rows that are not data are taken out here and described in the result: rows with no value
    at all (the trailing ",,,,," lines exports leave), note rows below the data (one cell filled,
    e.g. "Source: ..."), and totals rows the contract describes - whose amounts the data must add
    up to. ``constants`` gives the per-file text of columns read from the title rows or file name.
    A wide feed (``unpivot``) yields one row per measure cell, numbered by ``_column_number``.
    ``_sent_by`` is the partner body that sent the file, ``_agreement`` the data-sharing agreement
    it was accepted under, on every row.
    """
    version = conn.info.server_version
    cells: dict[str, sql.Composable] = {c.name: sql.Identifier(c.name) for c in contract.header_columns}
    for name, value in (constants or {}).items():
        cells[name] = sql.Literal(value)
    landed = [sql.Identifier(c) for c in landed_columns(contract, match)]
    items: list[sql.Composable] = [sql.SQL("_file_id"), sql.SQL("_row_number")]
    source = sql.SQL("(select *, {} as _cells from {}) as _l").format(_filled_cells(landed), table.ident)
    if contract.unpivot is not None:
        key, value = contract.unpivot.key_column, contract.unpivot.value_column
        measures = sql.SQL(", ").join(
            sql.SQL("({}, {}, {})").format(sql.Literal(number), sql.Literal(header), sql.Identifier(measure))
            for measure, (number, header) in match.measures.items())
        source = sql.SQL("{} cross join lateral (values {}) as _m(_column_number, _key, _value)").format(source, measures)
        cells[key], cells[value] = sql.SQL("_m._key"), sql.SQL("_m._value")
        items.append(sql.SQL("_m._column_number::integer as _column_number"))
    if contract.match_key:
        items.append(sql.SQL("nullif(match_key, '') as match_key"))
    # each typed value is computed once, in an inner query the planner may not flatten (offset 0),
    # and the outer query derives ``<col>__invalid`` from it: a value is NULL exactly when its
    # non-empty text does not parse
    outer: list[sql.Composable] = []
    for col in contract.stored_columns:
        text = _text(col, cells.get(col.name, sql.NULL))
        name = sql.Identifier(col.name)
        if col.identifier == "nhs_number":
            valid = sql.Identifier(validity_column(col.name)) if validity_column(col.name) in match.derived else sql.NULL
            items.append(sql.SQL("(nullif({}, '') = 't') as {}").format(valid, sql.Identifier(f"{col.name}_is_valid")))
            outer.append(sql.Identifier(f"{col.name}_is_valid"))
        if col.type == "text":
            items.append(sql.SQL("{} as {}").format(text, name))
            outer.append(name)
            continue
        # the explicit cast pins the column type (e.g. numeric(18, 2)) to the raw table's
        items.append(sql.SQL("({})::{} as {}").format(_value_expression(col, version, text), sql.SQL(col.sql_type), name))
        items.append(sql.SQL("{} as {}").format(text, sql.Identifier(f"{col.name}__text")))
        outer.append(name)
        # an empty cell in a column that must not be empty is invalid too, shown as ''
        t = sql.Identifier(f"{col.name}__text")
        empty = sql.SQL("''") if not col.nullable else sql.SQL("null")
        markers = sql.Literal(col.suppression_markers)
        withheld = sql.SQL("when {t} = any({m}) then null ").format(t=t, m=markers) if col.suppression_markers else sql.SQL("")
        outer.append(sql.SQL("case when {t} is null then {e} {w}when {v} is null then {t} end as {n}").format(
            t=t, e=empty, w=withheld, v=name, n=sql.Identifier(invalid_column(col))))
        if col.flag_column:
            outer.append(sql.SQL("coalesce({t} = any({m}), false) as {f}").format(
                t=t, m=markers, f=sql.Identifier(col.flag_column)))
    if match.unknown:
        pairs = [sql.SQL("{}, {}").format(sql.Literal(header), sql.Identifier(extra))
                 for extra, header in match.unknown.items()]
        # PostgreSQL functions take at most 100 arguments: build the object 50 pairs at a time
        objects = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + 50]))
                   for i in range(0, len(pairs), 50)]
        items.append(sql.SQL("jsonb_strip_nulls({}) as _extra").format(sql.SQL(" || ").join(objects)))
    else:
        items.append(sql.SQL("null::jsonb as _extra"))
    items.append(sql.SQL("{}::text as _sent_by").format(sql.Literal(sent_by)))
    items.append(sql.SQL("{}::text as _agreement").format(sql.Literal(agreement)))
    items.append(sql.SQL("_cells"))
    items.append(sql.SQL("{} as _total").format(_totals_condition(contract, cells)))
    # a note below the data fills one cell and leaves a column empty that data rows must fill
    must = [sql.SQL("nullif({}, '')").format(sql.Identifier(c.name)) for c in contract.header_columns
            if not c.nullable]
    items.append(sql.SQL("(_cells = 1 and num_nulls({}) > 0) as _note").format(sql.SQL(", ").join(must))
                 if must else sql.SQL("false as _note"))
    first = [sql.SQL("_file_id"), sql.SQL("_row_number")] + (
        [sql.SQL("_column_number")] if contract.unpivot else []) + ([sql.SQL("match_key")] if contract.match_key else [])
    outer = first + outer + [sql.SQL(c) for c in ("_extra", "_sent_by", "_agreement", "_cells", "_total", "_note")]
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    # a person-level file's typed table is unlogged until it is published (promote.publish_rows): a
    # rejected one leaves nothing of its cells (the text of invalid ones included) in the write-ahead log
    conn.execute(sql.SQL("create {} table {} with (autovacuum_enabled = false) as select {} from "
                         "(select {} from {} where _cells > 0 offset 0) as _v").format(
        sql.SQL("unlogged" if contract.person_identifiers else ""), table.typed, sql.SQL(", ").join(outer),
        sql.SQL(", ").join(items), source))
    protect(conn, table.ident, contract.agency, sent_by)  # the file's cells as sent: its sender's to read
    protect(conn, table.typed, contract.agency, sent_by)  # it becomes the file's partition of raw
    result = _set_aside_non_data(conn, table, contract, match, landed_rows)
    # an absent column or an empty cell that defaults to the sender: filled once totals rows and notes
    # are set aside (a totals row's label is the sender's words, not the sender's name)
    for col in contract.header_columns:
        if col.default == "sender":
            conn.execute(sql.SQL("update {t} set {c} = {v} where {c} is null").format(
                t=table.typed, c=sql.Identifier(col.name), v=sql.Literal(sent_by or "(the sending body)")))
    conn.execute(sql.SQL("alter table {} drop column _cells, drop column _total, drop column _note, {}").format(
        table.typed, sql.SQL(", ").join(sql.SQL("alter column {} set not null").format(sql.Identifier(k))
                                        for k in contract.row_key)))
    return result


def _filled_cells(columns: list[sql.Composable]) -> sql.Composable:
    """SQL counting the non-empty cells among ``columns`` (in groups: functions take at most 100 arguments)."""
    cells = [sql.SQL("nullif({}, '')").format(c) for c in columns]
    return sql.SQL("({})").format(sql.SQL(" + ").join(
        sql.SQL("num_nonnulls({})").format(sql.SQL(", ").join(cells[i:i + 100])) for i in range(0, len(cells), 100)))


def _totals_condition(contract: Contract, cells: dict[str, sql.Composable]) -> sql.Composable:
    rule = contract.totals_rows
    if rule is None:
        return sql.SQL("false")
    tests = [sql.SQL("coalesce({} ~* {}, false)").format(
        _text(contract.column_by_name[name], cells[name]), sql.Literal(rule.pattern)) for name in rule.columns]
    return sql.SQL("({})").format(sql.SQL(" or ").join(tests))


FOOTER_NOTES_SHOWN = 20


def _set_aside_non_data(conn: psycopg.Connection, table: LandingTable, contract: Contract,
                        match: HeaderMatch, landed_rows: int) -> TypedTable:
    """Find totals rows and what lies below the data, reconcile, and delete them from the typed table.

    Below the data are note rows ("Source: ...": one cell filled, a column data rows must fill left
    empty) after the last data row, and anything after the grand totals row.
    """
    t = table.typed
    # one scan for the common case: a file with no note rows and no totals rows needs nothing more
    source_rows, rows, totals, notes = conn.execute(sql.SQL(
        "select {}, count(*), count(*) filter (where _total), count(*) filter (where _note) from {}").format(
            sql.SQL("count(distinct _row_number)" if contract.unpivot else "count(*)"), t)).fetchone()
    result = TypedTable(rows=rows, empty_rows=landed_rows - source_rows)
    grand_row = None
    if totals:
        rule = contract.totals_rows
        labels = sql.SQL("concat_ws(' ', {})").format(sql.SQL(", ").join(sql.Identifier(c) for c in rule.columns))
        found = conn.execute(sql.SQL("select distinct _row_number, {} from {} where _total order by 1").format(
            labels, t)).fetchall()
        grand = [r for r, label in found if rule.grand_total and re.search(rule.grand_total, label or "", re.I)]
        grand_row = (grand or [r for r, _ in found])[-1] if (grand or not rule.grand_total) else None
        result.totals = [{"row": r, "line": r + match.header_line, "label": label} for r, label in found]
    below = sql.SQL("not _total and (_row_number > %(grand)s or (_note and _row_number > "
                    "(select max(_row_number) from {t} where not _note and not _total "
                    "and _row_number < coalesce(%(grand)s, 9e18))))").format(t=t)
    footer_rows = [r for (r,) in conn.execute(sql.SQL("select distinct _row_number from {} where {} order by 1").format(
        t, below), {"grand": grand_row}).fetchall()] if (notes or grand_row is not None) else []
    if footer_rows:
        texts = conn.execute(sql.SQL("select _row_number, concat_ws(' ', variadic array[{}]) from {} "
                                     "where _row_number = any(%s) order by 1 limit {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in landed_columns(contract, match)), table.ident,
            sql.Literal(FOOTER_NOTES_SHOWN)), (footer_rows,)).fetchall()
        result.footer = [(row, text.strip()) for row, text in texts]
        if len(footer_rows) > FOOTER_NOTES_SHOWN:
            result.footer.append((footer_rows[FOOTER_NOTES_SHOWN], f"... and {len(footer_rows) - FOOTER_NOTES_SHOWN} "
                                  "more rows below the data"))
    if totals:
        result.problems = _reconcile(conn, t, contract, match, result.totals, grand_row, footer_rows)
    if footer_rows and not contract.unpivot and contract.money_columns:
        found, problems = _unlabelled_totals(conn, t, contract, match, footer_rows)
        result.totals += found
        result.problems += problems
        shown = {f["row"] for f in found}
        result.footer = [(row, text) for row, text in result.footer if row not in shown]
    if footer_rows or totals:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("delete from {} where _total or _row_number = any(%s)").format(t), (footer_rows,))
            result.rows -= cur.rowcount
    return result


def _unlabelled_totals(conn: psycopg.Connection, typed: sql.Composable, contract: Contract, match: HeaderMatch,
                       footer_rows: list[int]) -> tuple[list[dict], list[str]]:
    """Rows below the data holding nothing but an amount: a total with no label. Each must equal the
    sum of the lines above it (recorded as a totals row, reconciled), else the file is refused naming
    both figures - never set aside as a note in silence (it may be a payment whose other cells were lost)."""
    amounts = contract.money_columns
    others = [c.name for c in contract.stored_columns if c.name not in amounts and c.from_file and c.name in match.targets]
    tolerance = contract.totals_rows.tolerance if contract.totals_rows else 0
    found, problems = [], []
    rows = conn.execute(sql.SQL(
        "select _row_number, {amounts} from {t} where _row_number = any(%s) and num_nonnulls({amounts}) > 0 {empty} "
        "order by 1").format(
            amounts=sql.SQL(", ").join(sql.Identifier(a) for a in amounts), t=typed,
            empty=sql.SQL("and num_nonnulls({}) = 0").format(sql.SQL(", ").join(sql.Identifier(c) for c in others))
            if others else sql.SQL("")), (footer_rows,)).fetchall()
    for row, *values in rows:
        sums = conn.execute(sql.SQL("select {} from {} where not _total and not (_row_number = any(%s)) "
                                    "and _row_number < %s").format(
            sql.SQL(", ").join(sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(a)) for a in amounts), typed),
            (footer_rows, row)).fetchone()
        line = row + match.header_line
        entry = {"row": row, "line": line, "label": "(no label)"}
        for amount, value, total in zip(amounts, values, sums, strict=True):
            if value is None:
                continue
            entry[amount] = str(value)
            if abs(total - value) > tolerance:
                header = match.header_of(amount)
                problems.append(f"line {line} holds only an amount ({header} {value}) - a total with no label? - but "
                                f"the lines above it add up to {total} (difference {total - value}); a total must "
                                "match its lines, and a payment needs its other cells")
        found.append(entry)
    return found, problems


def _reconcile(conn: psycopg.Connection, typed: sql.Composable, contract: Contract, match: HeaderMatch,
               totals: list[dict], grand_row: int | None, footer_rows: list[int]) -> list[str]:
    """Add each totals row's amounts to ``totals``; say how the data rows fail to add up to the grand total."""
    rule = contract.totals_rows
    value = contract.unpivot.value_column if contract.unpivot else None
    amounts = [value] if value and contract.column_by_name[value].type != "text" else contract.money_columns
    if not contract.unpivot and amounts:
        sums = dict(((r[0]), r[1:]) for r in conn.execute(sql.SQL(
            "select _row_number, {} from {} where _total").format(
                sql.SQL(", ").join(sql.Identifier(a) for a in amounts), typed)).fetchall())
        for total in totals:
            total.update({a: str(v) if v is not None else None for a, v in zip(amounts, sums[total["row"]], strict=True)})
    if not rule.reconcile or not amounts or grand_row is None:
        return []
    by = sql.SQL("_column_number") if contract.unpivot else sql.SQL("0")
    problems = []
    line = grand_row + match.header_line
    for amount in amounts:
        data = sql.SQL("sum({}) filter (where not _total and not (_row_number = any(%(footer)s)))").format(
            sql.Identifier(amount))
        mismatches = conn.execute(sql.SQL(
            "select {by}, {data}, sum({a}) filter (where _row_number = %(grand)s), "
            "count({a}) filter (where _row_number = %(grand)s) from {t} group by 1 "
            "having coalesce(abs({data} - sum({a}) filter (where _row_number = %(grand)s)), 1e18) > %(tol)s "
            "order by 1").format(by=by, data=data, a=sql.Identifier(amount), t=typed),
            {"footer": footer_rows, "grand": grand_row, "tol": rule.tolerance}).fetchall()
        for group, data_sum, total, present in mismatches[:5]:
            where = f" in column {match.measures.get(f'_measure_{group}', (0, group))[1]!r}" if contract.unpivot else ""
            if not present:
                problems.append(f"the totals row on line {line} has no readable {amount}{where} to check the data against")
            else:
                problems.append(f"the totals row on line {line} says {amount} = {total}{where}, but the data rows "
                                f"add up to {data_sum or 0} (difference {(data_sum or 0) - total})")
        if len(mismatches) > 5:
            problems.append(f"... and {len(mismatches) - 5} more columns that do not add up")
    return problems


def invalid_column(col: Column) -> str:
    return f"{col.name}__invalid"


def drop_landing(conn: psycopg.Connection, table: LandingTable) -> None:
    conn.execute(sql.SQL("drop table if exists {}").format(table.typed))
    conn.execute(sql.SQL("drop table if exists {}").format(table.ident))
