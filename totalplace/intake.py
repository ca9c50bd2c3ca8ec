"""What happens to a dropped file: fetch -> load -> validate -> publish or quarantine.

Each step is a function of (settings, contract, file_id) that reads the file's state from the
ledger and moves it on in one transaction, so every step can be re-run after a crash and changes
nothing the second time. The Airflow DAG ``ingest_<agency>__<feed>`` calls these one per task;
``totalplace validate`` and ``totalplace bench`` use the same load and gate code without SFTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from connectors import ledger
from connectors.column_scoring import resolve
from connectors.header import (
    HeaderError,
    HeaderMatch,
    apply_resolution,
    detect_encoding,
    header_keys,
    match_by_position,
    match_header,
    ragged_rows,
    read_header,
    sample_columns,
)
from connectors.landing import (
    CopyFailed,
    LandingTable,
    copy_file,
    create_landing_table,
    create_typed_table,
    drop_landing,
    landing_table,
    rounded_money,
)
from connectors.names import IDENTIFIER_IN_NAME, NAME_PROBLEM, withhold_identifiers
from connectors.promote import ensure_raw_table, publish_rows, quarantine_rows
from connectors.pseudonymise import load_key, load_postcode_lookup, row_transform, undeclared_identifiers
from connectors.sftp import RemoteFile, SftpAccount, open_service
from connectors.xlsx import conversion_notes_path
from totalplace import failpoints
from totalplace.contracts import Contract, normalise_header
from totalplace.mappings import load_mapping
from totalplace.reports import (
    Problem,
    Rejected,
    build_report,
    render_csv,
    render_text,
    summarise,
    withhold_values,
)
from totalplace.settings import Settings
from totalplace.state import private_dir
from totalplace.warehouse import bootstrap, connect, pipeline_url, warehouse_url, with_lock_retries

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    file_id: int
    name: str
    status: str
    rows: int | None
    error: str | None


# ---------------------------------------------------------------- helpers
def local_path(settings: Settings, contract: Contract, file_id: int, name: str) -> Path:
    """Where the platform keeps a file's bytes: under its file id, by its own name when that is a short
    plain name (the ledger has the name anyway), else as ``file`` with its extension - a 250-byte name,
    or the longer stand-in of one that is not text, would not fit the filesystem's limit."""
    suffix = Path(name).suffix
    safe = name if len(name.encode()) <= 120 and "/" not in name and name not in (".", "..") else (
        "file" + (suffix if len(suffix) <= 10 and suffix[1:].isalnum() else ""))
    return settings.files_dir / contract.agency / contract.feed / str(file_id) / safe


def prepare(settings: Settings, contract: Contract) -> str:
    """The loader's warehouse URL, with the platform schemas and this feed's raw table in place (idempotent)."""
    bootstrap(warehouse_url(settings), settings)
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        ensure_raw_table(conn, contract)
    return url


def is_web_page(path: Path) -> bool:
    """True when the file starts (after a byte-order mark and blanks) as HTML does."""
    with path.open("rb") as fh:
        head = fh.read(512).removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head"))


def tabular_source(path: Path, contract: Contract, workdir: Path | None = None) -> Path:
    """The CSV to load: the file itself, or - written out as CSV beside it (or in ``workdir``) - the
    contract's sheets of a spreadsheet, the features of a GeoJSON collection, or the file with its
    line endings made alike (bare CR, mixed)."""
    from connectors.geojson import GeoJSONError, geojson_to_csv, is_json
    from connectors.line_endings import has_bare_cr, normalise_line_endings
    from connectors.xlsx import WorkbookError, is_workbook, xlsx_to_csv

    # a geojson feed's file already written out as CSV (land() is given it again) is read as it is
    geojson = contract.format.type == "geojson" and is_json(path)
    if not geojson and is_web_page(path):
        raise Rejected([Problem(check="file_readable", rule=(
            "the file is a web page (HTML), whatever its name says - as Excel writes with 'Save as Web Page' or a "
            "finance system's 'export to Excel': save it as CSV or as an Excel workbook (.xlsx) and send it again"))])
    if not geojson and not is_workbook(path):
        if not has_bare_cr(path):
            return path
        target = (workdir or path.parent) / (path.name + ".lines.csv")
        if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
            return target
        normalise_line_endings(path, target)
        conversion_notes_path(target).write_text(json.dumps(
            ["the file's lines end in bare carriage returns, or in a mix of endings (as old Mac Excel or two "
             "programs write them): they were read as lines all the same"]), encoding="utf-8")
        return target
    target = (workdir or path.parent) / (path.name + (".features.csv" if geojson else ".sheet.csv"))
    if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    try:
        if geojson:
            return geojson_to_csv(path, target, contract.format.max_columns)
        return xlsx_to_csv(path, target, contract, contract.format.sheet)
    except (WorkbookError, GeoJSONError) as exc:
        raise Rejected([Problem(check="file_readable", rule=str(exc))]) from exc


def file_encoding(path: Path, contract: Contract) -> str:
    with path.open("rb") as fh:
        start = fh.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        raise Rejected([Problem(check="file_readable", rule="the file is UTF-16 (Excel's 'Unicode Text'): save it "
                                "as 'CSV UTF-8 (Comma delimited)' and send it again")])
    return detect_encoding(path) if contract.format.encoding == "auto" else contract.format.encoding


def match_file(path: Path, contract: Contract, encoding: str | None = None,
               mapping: dict[str, str] | None = None) -> HeaderMatch:
    """Read and match the header (the sending partner's ``mapping`` first); a file whose columns
    cannot be matched is rejected here."""
    encoding = encoding or file_encoding(path, contract)
    if not contract.format.header:
        try:
            match = match_by_position(path, contract, encoding=encoding, delimiter=contract.format.delimiter)
        except HeaderError as exc:
            raise Rejected([Problem(check="file_readable", rule=str(exc))]) from exc
        if match.missing:
            raise Rejected([Problem(check="row_length", rule=f"the file has {len(match.targets)} columns; the feed "
                                    f"expects at least {len(match.targets) + len(match.missing)} (no header row: "
                                    "columns are read by position)")])
        return match
    try:
        row = read_header(path, encoding=encoding, delimiter=contract.format.delimiter,
                          known=header_keys(contract) | set(mapping or {}))
    except HeaderError as exc:
        raise Rejected([Problem(check="file_readable", rule=str(exc))]) from exc
    headers = row.cells
    if len(headers) > contract.format.max_columns:
        raise Rejected([Problem(check="header", rule=(
            f"the header row (line {row.line}) has {len(headers):,}{' or more' if row.cut else ''} columns; "
            f"this feed takes at most "
            f"{contract.format.max_columns:,} (its contract's max_columns) - is this the right file?"))])
    match = match_header(headers, contract, line=row.line, offset=row.offset, mapping=mapping)
    match.header_first_line = row.first_line or row.line
    if mapping:
        match.notes = [f"read {h!r} as {contract.column_by_name[t].header!r} (the partner's mapping)"
                       for h, t in zip(headers, match.targets, strict=True)
                       if normalise_header(h) in mapping and t == mapping[normalise_header(h)]]
    # a person-level file's own header text is not repeated back (a header cell can hold anything a
    # person typed - a name): its columns are named by position
    person_level = bool(contract.person_identifiers)
    # a column the platform would otherwise fill by default (the sending body) is looked for too
    defaulted = [c.header for c in contract.header_columns if c.default and c.name not in match.targets]
    if (match.missing or match.duplicates or defaulted) and not person_level and contract.unpivot is None:
        # what the exact names left open is decided by name and content, or reported with candidates
        samples = sample_columns(path, encoding=encoding, delimiter=contract.format.delimiter, offset=row.offset)
        mapped = match.notes
        match = apply_resolution(match, contract, resolve(
            headers, match.targets, contract, [*match.missing, *defaulted], match.duplicates, samples))
        match.notes = [*mapped, *match.notes]
    def candidates(header: str) -> str:
        found = match.candidates.get(next((c.name for c in contract.header_columns if c.header == header), ""), [])
        return ("; the nearest headers: " + ", ".join(c.describe() for c in found)
                + " - none clearly enough (a partner mapping can say which)") if found else ""

    problems = [
        Problem(check="required_column", column=None, header=h,
                rule=f"required column {h!r} is missing from the header{candidates(h)}")
        for h in match.missing
    ] + [
        Problem(check="duplicate_column", header=None if person_level else h,
                rule=f"column {_position(headers, h) if person_level else repr(h)} appears more than once in the header")
        for h in match.duplicates
    ]
    if person_level and match.unknown:
        # what is not declared could be anything about someone, and would be kept in _extra: refused
        numbers = ", ".join(extra.removeprefix("_extra_") for extra in match.unknown)
        problems.append(Problem(check="unknown_column", rule=(
            f"column(s) {numbers} (counting from 1) are not in the feed contract; a person-level feed takes only "
            "the columns its contract declares - remove them (or ask the data team to add them to the contract)")))
    if problems:
        if person_level:
            found = f"the header found has {len(headers):,} columns"
        else:
            found = "the header found was: " + ", ".join(repr(h) for h in headers[:40]) + (
                f" ... ({len(headers):,} columns)" if len(headers) > 40 else "")
        problems.append(Problem(check="header", rule=found))
        raise Rejected(problems)
    return match


def propose_mapping(settings: Settings, contract: Contract, path: Path, body: str) -> tuple[dict[str, str], list[str]]:
    """A partner mapping for ``body`` read from one of its files (``totalplace map``): every column
    the contract's names do not settle, as the column scorer reads it - or, where it could not
    decide, its best candidate, marked for the reviewer. Returns (header -> column, comments)."""
    with tempfile.TemporaryDirectory() as workdir:
        source = tabular_source(path, contract, Path(workdir))
        encoding = file_encoding(source, contract)
        mapping, _ = load_mapping(settings.feeds_dir, contract, body)
        row = read_header(source, encoding=encoding, delimiter=contract.format.delimiter,
                          known=header_keys(contract) | set(mapping))
        match = match_header(row.cells, contract, line=row.line, offset=row.offset, mapping=mapping)
        samples = sample_columns(source, encoding=encoding, delimiter=contract.format.delimiter, offset=row.offset)
    found = resolve(row.cells, match.targets, contract, match.missing, match.duplicates, samples)
    columns = {h: mapping[normalise_header(h)] for h in row.cells if normalise_header(h) in mapping}
    comments = []
    for i, column in found.assigned.items():
        columns[row.cells[i]] = column
    for name, candidates in found.candidates.items():
        if candidates:
            best = candidates[0]
            columns[best.header] = name
            comments.append(f"CHECK {best.header!r} -> {name}: the best of " + ", ".join(c.describe() for c in candidates))
        else:
            comments.append(f"no header of the file looks like {contract.column_by_name[name].header!r}: add it by hand")
    comments += found.notes
    return columns, comments


def _position(headers: list[str], header: str) -> str:
    return "number " + " and ".join(str(i) for i, h in enumerate(headers, start=1) if h == header)


@dataclass
class Sharing:
    """Under what a file is shared: the body that sent it, the data-sharing agreement it is accepted
    under, that agreement's pseudonymisation key and the postcode lookup (when the feed needs them)."""

    sent_by: str | None = None
    agreement: str | None = None
    key: bytes | None = None
    postcodes: dict[str, str] | None = None
    mapping: dict[str, str] | None = None
    """The sending partner's own column names (totalplace.mappings), normalised header -> column."""


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
        from expectations.spend import spend_problems

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


def rows_not_adding_up(conn, typed, contract: Contract, header_line: int) -> Problem | None:
    """Rows of a wide table whose values do not add up to the row's own total column (the
    publisher's "All ages"): one problem naming the lines, each with both figures."""
    from psycopg import sql

    total, value = contract.unpivot.row_total, contract.unpivot.value_column
    # a row with a value that does not parse is the gate's to report, with the value: not judged here
    found = conn.execute(sql.SQL(
        "select _row_number, min({t}), sum({v}), count(*) from {typed} group by _row_number "
        "having sum({v}) is distinct from min({t}) and bool_and({ti} is null and {vi} is null) order by 1").format(
            t=sql.Identifier(total), v=sql.Identifier(value), typed=typed,
            ti=sql.Identifier(f"{total}__invalid"), vi=sql.Identifier(f"{value}__invalid"))).fetchall()
    if not found:
        return None
    header = contract.column_by_name[total].header
    return Problem(
        check="row_total", column=total, header=header, rows_failing=len(found),
        rule=f"each row's {contract.unpivot.key_column} columns must add up to its own {header!r}: "
             f"{len(found)} row(s) do not (a column lost, doubled or mistyped?)",
        examples=[{"row": r, "line": r + header_line, "value": f"{header} {t}, the {n} columns add up to {v}"}
                  for r, t, v, n in found[:10]])


def repeated_rows(conn, typed, contract: Contract, header_line: int) -> Problem | None:
    """The rows that repeat the contract's ``unique`` columns (e.g. an authority's row pasted twice
    in a return), as one problem naming each value and its lines; None when every row is its own."""
    from psycopg import sql

    key = sql.SQL(", ").join(sql.Identifier(c) for c in contract.unique)
    found = conn.execute(sql.SQL(
        "select concat_ws(' / ', {k}), array_agg(distinct _row_number order by _row_number) from {t} "
        "group by {k} having count(distinct _row_number) > 1 order by min(_row_number)").format(k=key, t=typed)).fetchall()
    if not found:
        return None
    headers = " + ".join(repr(contract.column_by_name[c].header) for c in contract.unique)
    return Problem(
        check="unique_rows", column=contract.unique[0], header=headers, rows_failing=sum(len(r) for _, r in found),
        rule=f"each row must have its own {headers} (a row given twice would be counted twice): "
             f"{len(found)} value(s) appear on more than one line",
        examples=[{"row": rows[1], "line": rows[1] + header_line, "value": f"{value} (also line {rows[0] + header_line})"}
                  for value, rows in found[:10]])


def _unreadable(exc: CopyFailed, match: HeaderMatch) -> Rejected:
    if exc.line is not None:  # COPY counts from the header line, the sender from the top of the file
        exc.line += match.header_line - 1 if match.has_header else 0
    where = f" at line {exc.line}" if exc.line else ""
    return Rejected([Problem(check="csv_structure", rule=f"the file cannot be read as CSV{where}: {exc}",
                             examples=[{"line": exc.line, "row": exc.line - 1 if exc.line else None, "value": None}]
                             if exc.line else [])])


def sharing_for(settings: Settings, contract: Contract, sent_by: str | None, day: date | None = None) -> Sharing:
    """The live agreement covering ``sent_by`` sending this feed, with its key, the postcode lookup and
    the body's own header mapping. Raises Rejected when no body is known (``sender``) or no live
    agreement covers it - both the platform's configuration, so the same bytes may be sent again."""
    from totalplace.agreements import NoAgreement, load_agreements

    if not sent_by:
        raise Rejected([Problem(check="sender", rule="the file's sending body is not known: its account is not in "
                                "partners.yml (or the file was recorded before accounts were bodies)")])
    agreements = load_agreements(settings.agreements_file)
    day = day or date.today()
    try:
        agreement = agreements.for_file(sent_by, contract.agency, contract.feed, day)
    except NoAgreement as exc:
        raise Rejected([Problem(check="data_sharing_agreement", rule=str(exc))]) from exc
    needs_postcodes = any(c.identifier == "postcode" for c in contract.columns)
    mapping, _ = load_mapping(settings.feeds_dir, contract, sent_by)
    return Sharing(
        sent_by=sent_by,
        agreement=agreement.id,
        key=load_key(settings.key_file(agreement.key_name)) if contract.person_identifiers else None,
        postcodes=load_postcode_lookup(settings.postcode_lookup_file) if needs_postcodes else None,
        mapping=mapping,
    )


def per_file_values(contract: Contract, path: Path, name: str, match: HeaderMatch, encoding: str) -> dict[str, str | None]:
    """Values of the columns a publisher writes once per file: in the title rows or the file's name.

    A required one that cannot be found rejects the file, saying where it was looked for.
    """
    needed = [c for c in contract.columns if not c.from_file]
    if not needed:
        return {}
    with path.open("rb") as fh:
        preamble = fh.read(match.offset).decode(encoding, errors="replace")
    values: dict[str, str | None] = {}
    problems = []
    for col in needed:
        text = preamble if col.source == "preamble" else name
        found = re.search(col.extract or "", text)
        values[col.name] = found.group(1) if found else None
        if found is None and not col.nullable:
            where = "the title rows above the header" if col.source == "preamble" else "the file name"
            problems.append(Problem(check="per_file_value", column=col.name, header=col.header,
                                    rule=f"{where} must give {col.description or col.name} "
                                         f"(looked for {col.extract!r} in {text[:200]!r})"))
    if problems:
        raise Rejected(problems)
    return values


def warnings_for(match: HeaderMatch) -> list[str]:
    notes = list(match.notes)
    if match.unknown:
        names = ", ".join(repr(h) for h in match.unknown.values())
        notes.append(f"columns not in the feed contract were kept aside, not used: {names}")
    if match.absent_optional:
        notes.append("optional columns absent: " + ", ".join(repr(h) for h in match.absent_optional))
    return notes


def send_report(settings: Settings, account: str | None, feed: str, name: str, report: dict[str, Any],
                session: SftpAccount | None = None) -> None:
    """Write ``outbox/<feed>/<name>.<outcome>.{json,txt}`` (and ``.csv`` of the problems of a
    rejected file, spreadsheet-safe) on the SFTP account the file came from (none for a local file)."""
    if account is None:
        return
    stem = f"outbox/{feed}/{name}.{report['outcome']}"
    payload_json = json.dumps(report, indent=2, default=str).encode()
    payload_txt = render_text(report).encode()
    payload_csv = render_csv(report)
    try:
        with contextlib.ExitStack() as stack:
            acct = session or stack.enter_context(open_service(settings, account))
            acct.write_bytes(stem + ".json", payload_json)
            acct.write_bytes(stem + ".txt", payload_txt)
            if payload_csv is not None:
                acct.write_bytes(stem + ".csv", payload_csv.encode("utf-8-sig"))
    except Exception:  # the ledger already holds the outcome and the report; delivery is retried by hand
        log.exception("could not deliver the report for %s:%s/%s to the outbox", account, feed, name)


# ---------------------------------------------------------------- steps
def fetch(settings: Settings, contract: Contract) -> list[int]:
    """Download every complete file in ``inbox/<feed>/``, enter it in the ledger, clear the inbox.

    Returns the files to load: the new ones plus any a previous run left unfinished. A file whose
    content was already decided is entered as ``duplicate`` and answered at once.
    """
    from totalplace.partners import registry

    url = prepare(settings, contract)
    new_ids: list[int] = []
    for partner in registry(settings).sending(contract.agency, contract.feed):
        if partner.account is None:
            continue
        with open_service(settings, partner.account) as account:
            for remote in account.list_complete(contract.feed, settings.sftp_settle_seconds):
                try:
                    new_ids.extend(_fetch_one(settings, contract, url, account, remote))
                except PermissionError as exc:
                    # a file the server may not read (put there by hand, not uploaded): the others go on
                    from totalplace.alerts import alert

                    alert(settings, "file_unreadable", f"{remote.name} in {partner.account}:inbox/{contract.feed}/ "
                          f"cannot be read by the SFTP server ({exc}); it was left in place - give it to the "
                          "server's user, or run `totalplace up`, which does", feed=contract.key, name=remote.name)
    with connect(url) as conn:
        pending = ledger.pending_for_feed(conn, contract.agency, contract.feed)
    return sorted(set(pending) | set(new_ids))


def has_work(settings: Settings, contract: Contract) -> bool:
    """A file waits in the inbox of a body sending this feed, or an earlier run left one unfinished."""
    from totalplace.partners import registry

    with connect(pipeline_url(settings, "loader")) as conn:
        exists = conn.execute("select to_regclass('ops.file_ledger') is not null").fetchone()[0]
        if exists and ledger.pending_for_feed(conn, contract.agency, contract.feed):
            return True
    for partner in registry(settings).sending(contract.agency, contract.feed):
        if partner.account:
            with open_service(settings, partner.account) as account:
                if contract.feed in account.waiting_feeds():
                    return True
    return False


def discard_kept(settings: Settings, contract: Contract, file_id: int, name: str) -> None:
    """Delete the platform's copy of a file (after its outcome is committed). A person-level file's copy
    goes as soon as it has an outcome: published, its rows are in the warehouse pseudonymised; a
    duplicate, the first copy's are; rejected, the sender has the file - a copy in clear on the
    platform's disk would serve nothing but a leak."""
    shutil.rmtree(local_path(settings, contract, file_id, name).parent, ignore_errors=True)


def sender(settings: Settings, contract: Contract, account: str | None) -> str:
    """The partner body sending this feed from ``account`` (partners.yml) - the one rule the run, a
    local load and ``validate`` all use. A feed several bodies send needs the account; a sender the
    registry does not know is an error, never a guess (ContractError)."""
    from totalplace.partners import registry

    return registry(settings).body_for(contract.agency, contract.feed, account)


def local_sender(settings: Settings, contract: Contract, account: str | None) -> str:
    """The body a local file (``ingest_local``, ``check_file``: the platform's own loads and tests) is
    read as: ``account``'s; without one, the feed's first body in partners.yml; for a feed no body sends
    (made up on the spot), its publisher. Partners' files never come this way: the SFTP account decides
    theirs, and ``totalplace validate`` asks for ``--as`` where several bodies send the feed."""
    from totalplace.partners import registry

    if account is not None:
        return sender(settings, contract, account)
    senders = registry(settings).sending(contract.agency, contract.feed)
    return senders[0].body if senders else contract.publisher or contract.agency


def _resolve_sender(settings: Settings, contract: Contract, entry: ledger.LedgerEntry) -> str | None:
    """The body of a file's account as partners.yml says now; the recorded one when it says nothing."""
    from totalplace.contracts import ContractError

    try:
        return sender(settings, contract, entry.account) if entry.account else entry.sent_by
    except ContractError:
        return entry.sent_by


def record_and_keep(conn, settings: Settings, contract: Contract, source: Path, name: str, sha256: str, size: int,
                    *, move: bool, account: str | None = None, sent_by: str | None = None) -> ledger.LedgerEntry:
    """Enter a file in the ledger and keep its bytes under ``files/<agency>/<feed>/<file_id>/``.

    ``move`` takes the source (a download); otherwise it is hard-linked, or copied across disks.
    """
    from totalplace.generate_data import generated_files

    entry = ledger.record_received(conn, agency=contract.agency, feed=contract.feed, name=name, sha256=sha256,
                                   size=size, sent_by=sent_by or sender(settings, contract, account), account=account,
                                   publisher=contract.publisher or None, synthetic=sha256 in generated_files(settings))
    final = local_path(settings, contract, entry.file_id, name)
    private_dir(final.parent, settings)
    # the folder is 0700 (a hard link to the caller's own file keeps that file's mode; nobody else gets in)
    if move:
        source.replace(final)
        final.chmod(0o600)
    else:
        try:
            os.link(source, final)  # no second copy of a big file when it is on the same disk
        except OSError:
            shutil.copyfile(source, final)
            final.chmod(0o600)
    return entry


def _fetch_one(settings: Settings, contract: Contract, url: str, account: SftpAccount, remote: RemoteFile) -> list[int]:
    # the name as it will be recorded, shown and reported: without what looks like a person identifier
    name = withhold_identifiers(remote.name, person_level=bool(contract.person_identifiers))
    incoming = settings.files_dir / contract.agency / contract.feed / ".incoming" / f"{os.getpid()}-{os.urandom(8).hex()}"
    sha256, size = account.download(remote, incoming)
    manifest = account.read_manifest(remote)
    with connect(url) as conn:
        entry = record_and_keep(conn, settings, contract, incoming, name, sha256, size, move=True,
                                account=account.account)
        if manifest and entry.status == "received":
            conn.execute("update ops.file_ledger set report = %s where file_id = %s",
                         (json.dumps({"manifest": manifest}), entry.file_id))
    # the ledger row is committed and the bytes are ours: the inbox copy can go
    account.remove_from_inbox(remote)
    wrong = manifest_problems(manifest, sha256=sha256, size=size) if entry.status == "received" else []
    if not remote.clean and entry.status == "received":
        # quarantined by itself: a name that is not text stops nothing else (finding of the attack suite)
        wrong = [Problem(check="file_name", rule=NAME_PROBLEM), *wrong]
    if name != remote.name and entry.status == "received":
        wrong = [Problem(check="file_name", rule=IDENTIFIER_IN_NAME), *wrong]
    if wrong:
        _quarantine(settings, contract, url, entry, landing_table(contract, entry.file_id), wrong, rows=None)
        return []
    log.info("received %s/%s as file %s (%s, %d bytes)", contract.key, name, entry.file_id, entry.status, size)
    if entry.status == "duplicate":
        report = build_report(outcome="duplicate", agency=contract.agency, feed=contract.feed, name=name,
                              file_id=entry.file_id, sha256=sha256, rows=0, note=entry.error)
        send_report(settings, account.account, contract.feed, name, report, account)
        if contract.person_identifiers:
            discard_kept(settings, contract, entry.file_id, name)
        return []
    return [entry.file_id]


def manifest_problems(manifest: dict | None, *, sha256: str | None = None, size: int | None = None,
                      rows: int | None = None) -> list[Problem]:
    """Where a file differs from the manifest its sender put in the ``.done`` marker."""
    problems = []
    for key, actual, what in (("sha256", sha256, "SHA-256"), ("bytes", size, "size in bytes"),
                              ("rows", rows, "number of data rows")):
        expected = (manifest or {}).get(key)
        if expected is not None and actual is not None and expected != actual:
            problems.append(Problem(check="manifest", rule=f"the manifest (.done) gives the {what} as {expected}, but "
                                    f"the file received has {actual}: it was damaged or cut short on the way - "
                                    "send it again"))
    return problems


def load(settings: Settings, contract: Contract, file_id: int, *, notify: bool = True) -> str:
    """COPY a received file into its landing table; returns the ledger status afterwards."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
        if entry is None or entry.status in ledger.FINAL:
            return entry.status if entry else "missing"
        ledger.transition(conn, file_id, "loading")
    path = local_path(settings, contract, file_id, entry.name)
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
        _quarantine(settings, contract, url, entry, table, rejected.problems, rows=None, notify=notify)
        return "quarantined"
    except Exception as exc:
        fault = fault_of(exc)
        if fault == "platform":
            raise  # the platform's own trouble (a connection cut, a full disk): the task fails and is run again
        log.exception("file %s (%s) could not be loaded", file_id, entry.name)
        _quarantine(settings, contract, url, entry, table, [could_not(exc, "loaded", fault)], rows=None,
                    notify=notify, keep=fault != "file")
        return "quarantined"


PLATFORM_SQLSTATES = ("08", "28", "3D", "40", "42", "53", "55", "57", "58")
"""Errors of the platform, not of a file: connection (08), authorisation (28, 3D), rollback and
deadlock (40), its own SQL or a half-done upgrade (42: syntax, privileges, undefined objects), resources
such as a full disk (53), locks (55), cancel and shutdown (57), I/O (58)."""
FILE_SQLSTATES = ("22", "23", "54", "XX")
"""Errors a file's content causes: bad data (22), duplicate keys (23), limits such as a row or a cell too
big (54), and internal ones such as an allocation a 300 MB cell asked for (XX)."""


def fault_of(exc: BaseException) -> str:
    """Whose fault an error loading or checking a file is: ``"file"`` (quarantined by itself, and every
    other file goes on), ``"platform"`` (the task fails and is retried: nothing is held against the
    file) or ``"unknown"`` (quarantined so it stops nothing, but its copy is kept to run again)."""
    import csv
    import zipfile

    import psycopg

    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        if isinstance(exc, psycopg.InterfaceError) or not state or state.startswith(PLATFORM_SQLSTATES):
            return "platform"
        return "file" if state.startswith(FILE_SQLSTATES) else "unknown"
    if isinstance(exc, OSError):  # a full disk, a lost connection, a missing or unreadable kept copy
        return "platform"
    if isinstance(exc, MemoryError | csv.Error | UnicodeError | ValueError | OverflowError | RecursionError
                  | zipfile.BadZipFile | EOFError):
        return "file"
    return "unknown"


def could_not(exc: BaseException, what: str, fault: str) -> Problem:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}{': ' + text if text else ''}"
    if fault == "file":
        rule = (f"the file could not be {what} ({reason}); nothing of it was loaded - check it (a cell or a "
                "row far larger than the others, a damaged workbook) and send it again")
    else:
        rule = (f"the platform could not {what.removesuffix('ed')} this file ({reason}) - a fault of the platform, "
                "not necessarily of the file; the file is kept, and the data team has been alerted and will run "
                "it again once the cause is fixed")
    return Problem(check="file_readable", rule=rule)


def validate(settings: Settings, contract: Contract, file_id: int) -> bool | None:
    """Run the gate on a landed file and record its verdict in the ledger report."""
    from expectations.gate import run_gate

    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
    if entry is None or entry.status != "validating":
        return None
    try:
        source = tabular_source(local_path(settings, contract, file_id, entry.name), contract)
        mapping, _ = load_mapping(settings.feeds_dir, contract, entry.sent_by)
        match = match_file(source, contract, (entry.report or {}).get("encoding"), mapping)
        result = run_gate(url, contract, landing_table(contract, file_id), match)
    except Exception as exc:
        fault = fault_of(exc)
        if fault == "platform":
            raise
        log.exception("file %s (%s) could not be checked", file_id, entry.name)
        from expectations.gate import GateResult

        result = GateResult(suite=contract.suite_name, passed=False, expectations=0,
                            problems=[could_not(exc, "checked", fault)])
    if result.data_docs:
        docs = settings.validations_dir / f"{file_id}.html"
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(result.data_docs)  # copied into the site by the next `totalplace report`
    report = dict(entry.report or {})
    report["gate"] = {
        "suite": result.suite,
        "passed": result.passed,
        "expectations": result.expectations,
        "problems": [p.as_dict() for p in withhold_values(result.problems,
                                                           person_level=bool(contract.person_identifiers))],
    }
    with connect(url) as conn:
        conn.execute("update ops.file_ledger set report = %s where file_id = %s and status = 'validating'",
                     (json.dumps(report), file_id))
    return result.passed


def publish(settings: Settings, contract: Contract, file_id: int, *, notify: bool = True) -> Outcome:
    """Publish a file that passed the gate, or quarantine one that did not - one transaction each."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
    if entry is None:
        raise LookupError(f"no file {file_id} in the ledger")
    if entry.status != "validating":
        return Outcome(file_id, entry.name, entry.status, entry.rows, entry.error)
    gate = (entry.report or {}).get("gate")
    if gate is None:
        raise RuntimeError(f"file {file_id} has not been through the gate yet; run validate first")
    table = landing_table(contract, file_id)
    warnings = (entry.report or {}).get("warnings", [])
    if not gate["passed"]:
        problems = [Problem(check=p["check"], rule=p["rule"], column=p["contract_column"], header=p["column"],
                            rows_failing=p["rows_failing"], examples=p["examples"]) for p in gate["problems"]]
        return _quarantine(settings, contract, url, entry, table, problems, rows=entry.rows, suite=gate["suite"],
                           notify=notify)
    import psycopg

    def publish_file(conn) -> tuple[int, dict[str, Any]]:
        submission = submission_of(conn, contract, table)
        rows = publish_rows(conn, contract, table, file_id)
        if rows != entry.rows:
            raise RuntimeError(f"file {file_id}: {rows} rows to publish but {entry.rows} were landed")
        failpoints.hit("publish", conn, url)
        replaced = supersede(conn, contract, entry, submission)
        notes = warnings
        if replaced:
            notes = [*warnings, "this file replaces " + ", ".join(
                f"file {e.file_id} ({e.name}, {e.rows} rows)" for e in replaced)
                + " - a corrected re-submission of the same " + ", ".join(contract.supersedes_on or [])]
        report = build_report(outcome="published", agency=contract.agency, feed=contract.feed, name=entry.name,
                              file_id=file_id, sha256=entry.sha256, rows=rows, suite=gate["suite"], warnings=notes)
        if submission is not None:
            report["submission"] = submission
        report["control_totals"] = control_totals(conn, contract, file_id)
        if contract.publisher_column:
            ledger.set_publisher(conn, file_id, contract.key, contract.publisher_column)
        if contract.spend is not None:
            from psycopg import sql

            from expectations.spend import control_total

            report["spend_control"] = control_total(conn, sql.Identifier("raw", contract.key), contract, file_id)
        if (entry.report or {}).get("file_totals"):
            report["file_totals"] = entry.report["file_totals"]
        ledger.transition(conn, file_id, "published", rows=rows, error=None, report=report)
        drop_landing(conn, table)
        return rows, report

    try:
        # superseding detaches a partition of raw (ACCESS EXCLUSIVE): never queue partners' reads behind it
        rows, report = with_lock_retries(url, publish_file, what=f"publishing file {file_id}", settings=settings)
    except psycopg.errors.UniqueViolation:
        # the same content was published by a concurrent run between our fetch and now
        with connect(url) as conn:
            previous = ledger.find_previous(conn, contract.agency, contract.feed, entry.sha256)
            note = ledger.duplicate_note(previous, entry.sent_by) if previous else None
            ledger.transition(conn, file_id, "duplicate", rows=0, error=note,
                              duplicate_of=previous.file_id if previous else None)
            drop_landing(conn, table)
        report = build_report(outcome="duplicate", agency=contract.agency, feed=contract.feed, name=entry.name,
                              file_id=file_id, sha256=entry.sha256, rows=0, note=note)
        if contract.person_identifiers:
            discard_kept(settings, contract, file_id, entry.name)
        if notify:
            send_report(settings, entry.account, contract.feed, entry.name, report)
        return Outcome(file_id, entry.name, "duplicate", 0, note)
    if contract.person_identifiers:
        discard_kept(settings, contract, file_id, entry.name)
    if notify:
        send_report(settings, entry.account, contract.feed, entry.name, report)
    log.info("published file %s (%s): %d rows into raw.%s", file_id, entry.name, rows, contract.key)
    return Outcome(file_id, entry.name, "published", rows, None)


def submission_of(conn, contract: Contract, table: LandingTable) -> list[list[str]] | None:
    """What the file is a submission of: the distinct values of its ``supersedes_on`` columns
    (dates by month), from the typed table about to be published."""
    if not contract.supersedes_on:
        return None
    from psycopg import sql

    # distinct values first, formatted in Python: formatting a million dates in SQL costs more than the scan
    rows = conn.execute(sql.SQL("select distinct {} from {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in contract.supersedes_on), table.typed)).fetchall()
    dated = [contract.column_by_name[c].type in ("date", "timestamp", "month") for c in contract.supersedes_on]
    formatted = {tuple(f"{v:%Y-%m}" if d and v is not None else (None if v is None else str(v))
                       for v, d in zip(row, dated, strict=True)) for row in rows}
    return [list(r) for r in sorted(formatted, key=lambda r: tuple("" if v is None else v for v in r))]


def supersede(conn, contract: Contract, entry: ledger.LedgerEntry,
              submission: list[list[str]] | None) -> list[ledger.LedgerEntry]:
    """Earlier published files of the same sender whose submission this file covers whole become
    ``superseded``: their partitions leave raw for ``history`` - in the publishing transaction, so
    readers see the old rows or the new ones, never both or neither."""
    if not submission:
        return []
    from psycopg import sql

    covered = {tuple(r) for r in submission}
    earlier = [e for e in ledger.published_for_feed(conn, contract.agency, contract.feed, entry.sent_by)
               # the same bytes again are a duplicate (refused below by the ledger's unique index), not a correction
               if e.file_id != entry.file_id and e.sha256 != entry.sha256 and (e.report or {}).get("submission")
               and {tuple(r) for r in e.report["submission"]} <= covered]
    for old in earlier:
        partition = f"{contract.key}__f{old.file_id}"
        conn.execute(sql.SQL("alter table {} detach partition {}").format(
            sql.Identifier("raw", contract.key), sql.Identifier("raw", partition)))
        conn.execute(sql.SQL("alter table {} set schema history").format(sql.Identifier("raw", partition)))
        ledger.transition(conn, old.file_id, "superseded", error=f"superseded by file {entry.file_id} ({entry.name})",
                          superseded_by=entry.file_id)
    return earlier


def control_totals(conn, contract: Contract, file_id: int) -> dict[str, str]:
    """Sum of every money column of a published file, recorded in the ledger for reconciliation."""
    money = contract.money_columns
    if not money:
        return {}
    from psycopg import sql

    sums = conn.execute(sql.SQL("select {} from {} where _file_id = %s").format(
        sql.SQL(", ").join(sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(m)) for m in money),
        sql.Identifier("raw", contract.key)), (file_id,)).fetchone()
    return {name: str(total) for name, total in zip(money, sums, strict=True)}


def _quarantine(settings: Settings, contract: Contract, url: str, entry: ledger.LedgerEntry, table: LandingTable,
                problems: list[Problem], *, rows: int | None, suite: str | None = None,
                notify: bool = True, keep: bool = False) -> Outcome:
    problems = withhold_values(problems, person_level=bool(contract.person_identifiers))
    # a rejected file of people, or one holding identifiers its contract does not declare, is not kept:
    # the sender has it, and a kept copy would be person-level data in clear on the platform's disk -
    # unless the fault may be the platform's (``keep``): then the copy is what it will be run again from
    discard = not keep and (bool(contract.person_identifiers)
                            or any(p.check == "undeclared_identifier" for p in problems))
    warnings = (entry.report or {}).get("warnings", [])
    if discard:
        warnings = [*warnings, "this file was not kept (it holds, or may hold, person identifiers): send it again "
                    "once it is fixed - it cannot be run again from the platform's copy"]
    report = build_report(outcome="quarantined", agency=contract.agency, feed=contract.feed, name=entry.name,
                          file_id=entry.file_id, sha256=entry.sha256, rows=rows, problems=problems, suite=suite,
                          warnings=warnings)
    report["kept"] = not discard
    error = summarise(report["problems"])
    with connect(url) as conn:
        exists = conn.execute("select to_regclass(%s)", (f"landing.{table.name}",)).fetchone()[0]
        if exists:
            quarantine_rows(conn, table, contract, entry.sent_by)
        ledger.transition(conn, entry.file_id, "quarantined", rows=rows, error=error, report=report)
    if discard:  # after the commit: a crash in between leaves bytes that retention deletes, never a lost outcome
        discard_kept(settings, contract, entry.file_id, entry.name)
    if notify:
        send_report(settings, entry.account, contract.feed, entry.name, report)
    from totalplace.alerts import alert

    alert(settings, "file_quarantined", f"{entry.name} ({contract.agency}/{contract.feed}, file {entry.file_id}) "
          f"quarantined: {error}", feed=f"{contract.agency}/{contract.feed}", file_id=entry.file_id,
          sent_by=entry.sent_by)
    return Outcome(entry.file_id, entry.name, "quarantined", rows, error)


# ---------------------------------------------------------------- running a file again
def reprocess(settings: Settings, contract: Contract, file_id: int, *, notify: bool = True) -> Outcome:
    """Run a quarantined, failed or unfinished file again from its kept bytes - after the sender's
    contract was corrected, say. Safe to repeat: a published, duplicate or superseded file is left
    as it is, and the earlier outcome is kept in the report's ``history``."""
    from psycopg import sql

    url = prepare(settings, contract)
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
        if entry is None or (entry.agency, entry.feed) != (contract.agency, contract.feed):
            raise LookupError(f"no file {file_id} of {contract.agency}/{contract.feed} in the ledger")
        if entry.purged_at is not None:
            raise ValueError(f"file {file_id} cannot be run again: retention deleted it on {entry.purged_at:%Y-%m-%d}")
        if entry.status in ("published", "duplicate", "superseded"):
            return Outcome(file_id, entry.name, entry.status, entry.rows, entry.error)
        if not local_path(settings, contract, file_id, entry.name).exists():
            raise ValueError(f"file {file_id} cannot be run again: it was not kept (a rejected file that holds person "
                             "identifiers is deleted) - ask the sender to send it again")
        if entry.status in ("quarantined", "failed"):
            history = [*(entry.report or {}).get("history", []),
                       {"status": entry.status, "error": entry.error, "finished_at": str(entry.finished_at)}]
            conn.execute(sql.SQL("drop table if exists {}").format(
                sql.Identifier("quarantine", landing_table(contract, file_id).name)))
            ledger.transition(conn, file_id, "received", error=None, report={"history": history})
        # the sender as the registry says now (a body given its own account since, a fixed entry)
        resent_by = _resolve_sender(settings, contract, entry)
        if resent_by != entry.sent_by:
            conn.execute("update ops.file_ledger set sent_by = %s where file_id = %s", (resent_by, file_id))
    if load(settings, contract, file_id, notify=notify) == "validating":
        validate(settings, contract, file_id)
        return publish(settings, contract, file_id, notify=notify)
    with connect(url) as conn:
        done = ledger.get_entry(conn, file_id)
    return Outcome(file_id, done.name, done.status, done.rows, done.error)


def backfill(settings: Settings, contract: Contract, since: date, *, notify: bool = True) -> list[Outcome]:
    """Reprocess every quarantined or failed file of a feed received on or after ``since``."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        ids = [r[0] for r in conn.execute(
            "select file_id from ops.file_ledger where agency = %s and feed = %s and received_at >= %s "
            "and status in ('quarantined', 'failed') and purged_at is null order by file_id",
            (contract.agency, contract.feed, since)).fetchall()]
    return [reprocess(settings, contract, file_id, notify=notify) for file_id in ids]


# ---------------------------------------------------------------- files already on this machine
def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def ingest_local(settings: Settings, contract: Contract, path: Path, *, skip_if_published: bool = False,
                 notify: bool = False, timings: dict[str, float] | None = None,
                 account: str | None = None) -> Outcome | None:
    """Load, gate and publish a local file through the same steps as an SFTP drop.

    Used for the platform's own reference data and by the benchmark (which passes ``timings`` to
    get seconds per step). With ``skip_if_published`` a file whose content is already published is
    skipped without a ledger entry (returns None). The file is recorded as sent by ``account``'s body -
    by default the feed's first body in partners.yml, or for a feed no body sends (one made up on the
    spot) its publisher - with no account (no outbox to answer to).
    """
    sent_by = local_sender(settings, contract, account)
    clock = _Clock(timings)
    url = prepare(settings, contract)
    with clock("hash"):
        sha256, size = sha256_of(path)
    with clock("record"), connect(url) as conn:
        previous = ledger.find_previous(conn, contract.agency, contract.feed, sha256)
        if skip_if_published and previous is not None and previous.status == "published":
            return None
        entry = record_and_keep(conn, settings, contract, path, path.name, sha256, size, move=False,
                                sent_by=sent_by)
    if entry.status == "duplicate":
        if contract.person_identifiers:
            discard_kept(settings, contract, entry.file_id, entry.name)
        return Outcome(entry.file_id, entry.name, "duplicate", 0, entry.error)
    with clock("load (COPY + typed table)"):
        status = load(settings, contract, entry.file_id, notify=notify)
    if status == "validating":
        with clock("gate (GX)"):
            validate(settings, contract, entry.file_id)
    with clock("publish"):
        return publish(settings, contract, entry.file_id, notify=notify)


class _Clock:
    """Context manager factory adding elapsed seconds per step into a dict (or doing nothing)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - start


# ---------------------------------------------------------------- pre-flight
def check_file(settings: Settings, contract: Contract, path: Path, account: str | None = None) -> dict[str, Any]:
    """The gate's verdict on a local file without recording or publishing anything - read as the body of
    ``account`` would be by a real run (its agreement, its mapping, its name as the default sender)."""
    from expectations.gate import run_gate

    url = prepare(settings, contract)
    table = LandingTable("landing", f"{contract.key}__check_{os.getpid()}")
    rows: int | None = None
    try:
        with tempfile.TemporaryDirectory() as workdir, connect(url) as conn:
            landed = land(conn, contract, table, tabular_source(path, contract, Path(workdir)), 0,
                          sharing_for(settings, contract, local_sender(settings, contract, account)))
        rows = landed.rows
        result = run_gate(url, contract, table, landed.match)
        outcome = "passed" if result.passed else "failed"
        return build_report(outcome=outcome, agency=contract.agency, feed=contract.feed, name=path.name, file_id=None,
                            sha256=None, rows=rows, problems=result.problems, suite=result.suite,
                            warnings=landed.notes)
    except Rejected as rejected:
        return build_report(outcome="failed", agency=contract.agency, feed=contract.feed, name=path.name,
                            file_id=None, sha256=None, rows=rows, problems=rejected.problems)
    finally:
        with connect(url) as conn:
            drop_landing(conn, table)
