"""Land: stream a file into ``landing`` with PostgreSQL COPY, then build its typed table.

Stage 3 of ingest (with pseudonymisation on the way in and ``typed`` after). Each file gets its own
UNLOGGED landing table (``landing.<agency>__<feed>__f<file_id>``) with every column as text, so COPY
never fails on a value: bad values are the gate's business and are reported by row. ``_row_number``
is an identity column, numbered by COPY in file order, and ``_file_id`` a column default - the bytes
go from disk to PostgreSQL without per-row Python. Checks that need the whole file (its own totals,
repeated rows, a spend file's lines) run here as SQL on the typed table.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from connectors.header import HEADER_READ_BYTES, HeaderMatch, ragged_rows
from connectors.xlsx import conversion_notes_path
from expectations.rows import repeated_rows, rows_not_adding_up
from expectations.spend import spend_problems
from totalplace.contracts import Contract
from totalplace.ingest import checkpoints, ledger
from totalplace.ingest.kept import local_copy
from totalplace.ingest.outcome import could_not, fault_of
from totalplace.ingest.pseudonymise import row_transform, undeclared_identifiers
from totalplace.ingest.quarantine import quarantine
from totalplace.ingest.read import file_encoding, match_file, per_file_values, tabular_source, warnings_for
from totalplace.ingest.receive import Sharing, manifest_problems, sharing_for
from totalplace.ingest.tables import LandingTable, drop_landing, landed_columns, landing_table
from totalplace.ingest.typed import create_typed_table, rounded_money
from totalplace.reports import Problem, Rejected
from totalplace.settings import Settings
from totalplace.warehouse import connect, pipeline_url

log = logging.getLogger(__name__)


def load(settings: Settings, contract: Contract, file_id: int, *, notify: bool = True) -> str:
    """COPY a received file into its landing table; returns the ledger status afterwards."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
        if entry is None or entry.status in ledger.FINAL:
            return entry.status if entry else "missing"
        ledger.transition(conn, file_id, "loading")
    path = local_copy(settings, contract, file_id, entry.name)  # from the store, on whichever worker
    table = landing_table(contract, file_id)
    try:
        sharing = sharing_for(settings, contract, entry.sent_by, entry.received_at.date())
        with connect(url) as conn:
            ledger.set_agreement(conn, file_id, sharing.agreement)
        manifest = (entry.report or {}).get("manifest")
        with connect(url) as conn:
            landed = land(conn, contract, table, path, file_id, sharing)
            wrong = manifest_problems(manifest, rows=landed.rows)
            if wrong:
                raise Rejected(wrong)  # the transaction is rolled back: nothing of the file stays
            # the encoding is kept so the gate step need not read the whole file again to detect it
            ledger.transition(conn, file_id, "validating", rows=landed.rows,
                              report={"warnings": landed.notes, "encoding": landed.encoding,
                                     "file_totals": landed.totals, **({"manifest": manifest} if manifest else {})})
        return "validating"
    except Rejected as rejected:
        quarantine(settings, contract, url, entry, table, rejected.problems, rows=None, notify=notify)
        return "quarantined"
    except Exception as exc:
        fault = fault_of(exc)
        if fault == "platform":
            raise  # the platform's own trouble (a connection cut, a full disk): the task fails and is run again
        log.exception("file %s (%s) could not be loaded", file_id, entry.name)
        quarantine(settings, contract, url, entry, table, [could_not(exc, "loaded", fault)], rows=None,
                    notify=notify, keep=fault != "file")
        return "quarantined"


@dataclass
class Landed:
    """What landing a file found out: its header, data rows, encoding and notes for the sender."""

    match: HeaderMatch
    rows: int
    encoding: str
    notes: list[str]
    totals: list[dict] = field(default_factory=list)


def land(conn, contract: Contract, table: LandingTable, path: Path, file_id: int,
         sharing: Sharing | None = None) -> Landed:
    """Header check, landing table, COPY and typed table, in the caller's transaction.

    ``sharing`` gives the pseudonymisation key (needed when the contract names person identifiers),
    the postcode lookup, and the sender and agreement repeated on every row. A column that holds
    person identifiers the contract does not declare rejects the file; the transaction is rolled
    back, so those values leave nothing behind.
    """
    sharing = sharing or Sharing()
    name = path.name
    path = tabular_source(path, contract)
    converted = conversion_notes_path(path)  # e.g. a workbook's sheets read and not read, for the report
    sheet_notes = json.loads(converted.read_text(encoding="utf-8")) if converted.exists() else []
    encoding = file_encoding(path, contract)
    match = match_file(path, contract, encoding, sharing.mapping)
    constants = per_file_values(contract, path, name, match, encoding)
    transform = None
    if contract.person_identifiers:
        if sharing.key is None:
            raise RuntimeError(f"feed {contract.key} names person identifiers: a pseudonymisation key is needed")
        transform, match.derived = row_transform(contract, match.targets, sharing.key, sharing.postcodes)
    create_landing_table(conn, table, contract, match, file_id)
    try:
        landed = copy_file(conn, table, match, path, contract, encoding, transform=transform)
    except CopyFailed as exc:
        count, examples, short = ragged_rows(path, match, encoding=encoding, delimiter=contract.format.delimiter)
        if count:
            raise Rejected([Problem(
                check="row_length", rows_failing=count, examples=examples,
                rule=f"every row must have {len(match.headers)} cells, like the header "
                     "(a cell with a comma or line break in it must be in double quotes)",
            )]) from exc
        if not short:
            raise _unreadable(exc, match) from exc
        try:  # only empty lines and one-cell notes: read again, padding those
            landed = copy_file(conn, table, match, path, contract, encoding, pad_short_rows=True,
                               transform=transform)
        except CopyFailed as again:
            raise _unreadable(again, match) from again
    undeclared = undeclared_identifiers(conn, table, contract, match)
    if undeclared:
        raise Rejected([Problem(check="undeclared_identifier", column=name, header=header, rule=rule)
                        for name, header, rule in undeclared])
    typed = create_typed_table(conn, table, contract, match, landed, constants, sharing.sent_by, sharing.agreement)
    if typed.problems:
        raise Rejected([Problem(check="totals_reconcile", rule=p, column=None) for p in typed.problems])
    if contract.unpivot is not None and contract.unpivot.row_total:
        short = rows_not_adding_up(conn, table.typed, contract, match.header_line)
        if short:
            raise Rejected([short])
    if contract.unique:
        repeated = repeated_rows(conn, table.typed, contract, match.header_line)
        if repeated:
            raise Rejected([repeated])
    if contract.spend is not None:
        problems = spend_problems(conn, table.typed, contract, match.header_line)
        if problems:
            raise Rejected(problems)
    notes = [*sheet_notes, *warnings_for(match)]
    for col in contract.header_columns:
        if col.default == "sender" and col.name not in match.targets:
            notes.append(f"the file has no {col.header!r} column: every line is taken as the sending body's "
                         f"({sharing.sent_by or 'the account the file is sent from'})")
    for header, count, example in rounded_money(conn, table, contract, match):
        notes.append(f"{count} amount(s) in {header!r} were written as a program's float or exponent (e.g. "
                     f"{example!r}) and were rounded to the penny")
    if typed.empty_rows:
        notes.append(f"{typed.empty_rows} empty row(s) (no value in any column) were ignored")
    for row, text in typed.footer:
        quoted = "" if contract.person_identifiers else f": {text[:120]!r}"  # a person-level note is not quoted
        notes.append(f"line {row + match.header_line} is a note below the data, not a row{quoted}")
    for total in typed.totals:
        sums = ", ".join(f"{k} {v}" for k, v in total.items() if k not in ("row", "line", "label"))
        checked = ("the lines above it add up to it" if total["label"] == "(no label)"
                   else "the data adds up to it" if contract.totals_rows and contract.totals_rows.reconcile
                   else "not checked")
        notes.append(f"line {total['line']} is a totals row ({total['label']!r}{': ' + sums if sums else ''}); "
                     f"it was not loaded as data ({checked})")
    if encoding != "utf-8":
        notes.append(f"the file was read as {encoding} (it is not UTF-8)")
    if match.header_first_line != match.header_line:
        notes.append(f"the header spans lines {match.header_first_line}-{match.header_line} (headings over "
                     f"sub-headings were joined, e.g. {next((h for h in match.headers if ' ' in h), '')!r})")
    if match.header_first_line > 1:
        notes.append(f"the header is on line {match.header_first_line}; the {match.header_first_line - 1} "
                     "line(s) above it were skipped")
    if match.measures:
        notes.append(f"{len(match.measures)} columns of values were read as rows of "
                     f"{contract.unpivot.key_column} / {contract.unpivot.value_column}")
    return Landed(match, typed.rows, encoding, notes, typed.totals)


def _unreadable(exc: CopyFailed, match: HeaderMatch) -> Rejected:
    if exc.line is not None:  # COPY counts from the header line, the sender from the top of the file
        exc.line += match.header_line - 1 if match.has_header else 0
    where = f" at line {exc.line}" if exc.line else ""
    return Rejected([Problem(check="csv_structure", rule=f"the file cannot be read as CSV{where}: {exc}",
                             examples=[{"line": exc.line, "row": exc.line - 1 if exc.line else None, "value": None}]
                             if exc.line else [])])


COPY_CHUNK = 1 << 20


PG_ENCODINGS = {"utf-8": "UTF8", "cp1252": "WIN1252"}


class CopyFailed(Exception):
    """COPY rejected the file's structure (e.g. a ragged row); carries the file line when known."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


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
                        checkpoints.reached("copy", conn, conn.info.dsn)
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
