"""Spreadsheets - Excel .xlsx and the older .xls, OpenDocument .ods - : the chosen sheet written out
as a CSV the COPY path reads.

Read with calamine (Rust, ``python-calamine``): cached formula results, never the formulas; dates
(1900 and 1904 systems) as dates. It reads a sheet whole before the rows are written out - measured
on the benchmark's 200k-row, 9-column workbook: 3.6 s where openpyxl's row-by-row read-only mode
took 44-54 s, for the same rows, at the cost of memory (the loader's peak: 430 MB; Excel's limit
of 1,048,576 rows bounds it). Every row is as wide as the sheet (openpyxl left a title row above
the header one cell wide; the header finder reads both alike). Dates become ISO text, numbers their
plain decimal form - the contract's types then check them like any CSV. Before any parser sees the
file, ``check_archive`` refuses zip bombs, XML with entity definitions, and sheets whose cells reach
beyond what an extract holds (calamine sizes a sheet by its last cell: one cell at XFD1048576 in a
31 KB file made it ask for 512 GiB and abort the process). The conversion itself runs in a child
process with a memory limit, so a workbook that still breaks the parser is a rejected file, not a
dead pipeline.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from connectors.header import SHEET_COLUMNS, header_keys
from totalplace.contracts import Contract, normalise_header

ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .ods are zip archives of XML parts
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls (a compound document)


class WorkbookError(ValueError):
    """The workbook cannot be read, or has no sheet the contract recognises."""


def _magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(8)


def is_workbook(path: Path) -> bool:
    """Told by the file's first bytes, never its name: a partner's "report.csv" may be a workbook."""
    head = _magic(path)
    return head[:4] == ZIP_MAGIC or head == OLE2_MAGIC


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text[:-2] if text.endswith(".0") else text
    return str(value)


SHEET_SCAN_ROWS = 50
"""A sheet's header is looked for in its first rows (title and notes rows above it)."""


@dataclass
class SheetHeader:
    """Where a sheet's header row is and how many of the feed's column names it has."""

    name: str
    row: int = -1
    """0-based row of the best header candidate (-1: no cell of it names a column of the feed)."""
    score: int = 0
    headers: list[str] = field(default_factory=list)


def _sheet_header(name: str, sheet, keys: set[str]) -> SheetHeader:
    best = SheetHeader(name)
    for i, row in enumerate(itertools.islice(sheet.iter_rows(), SHEET_SCAN_ROWS)):
        cells = [_cell_text(v) for v in row]
        score = len({normalise_header(c) for c in cells} & keys)
        if score > best.score:
            best = SheetHeader(name, i, score, cells)
    return best


def _sheets_to_read(workbook, contract: Contract, wanted: str | None) -> tuple[list[SheetHeader], list[str]]:
    """(the sheets to read, in workbook order; notes on the others for the report).

    Every sheet whose header names as many of the feed's columns as the best sheet's does is read -
    a workbook with one sheet per month is all its months. A sheet whose header names most of them
    (at least half, and two) but fewer is neither read nor passed over in silence: the file is
    refused, naming it (a month typed with other headers must not vanish). Sheets naming fewer or
    none (notes, a cover, a lookup) are listed in the report as not read."""
    names = workbook.sheet_names
    if wanted is not None:
        if wanted not in names:
            raise WorkbookError(f"the workbook has no sheet {wanted!r} (sheets: {', '.join(names)})")
        others = [n for n in names if n != wanted]
        return ([_sheet_header(wanted, workbook.get_sheet_by_name(wanted), header_keys(contract))],
                [f"sheet(s) {', '.join(map(repr, others))} not read: the feed reads sheet {wanted!r}"] if others else [])
    keys = header_keys(contract)
    found = [_sheet_header(n, workbook.get_sheet_by_name(n), keys) for n in names]
    best = max((f.score for f in found), default=0)
    if best == 0:
        raise WorkbookError(f"no sheet has the feed's column headers (sheets: {', '.join(names)})")
    read = [f for f in found if f.score == best]
    # most of the feed's columns, but not all: a sheet of data typed differently - never passed over
    partial = [f for f in found if max(2, best / 2) <= f.score < best]
    if partial:
        first = read[0]
        want = {normalise_header(h) for h in first.headers} & keys
        raise WorkbookError("; ".join(
            f"sheet {f.name!r} looks like data but its header (row {f.row + 1}) lacks "
            + ", ".join(repr(h) for h in first.headers if normalise_header(h) in want - {normalise_header(c) for c in f.headers})
            + f" that sheet {first.name!r} has" for f in partial)
            + " - give every sheet of data the same column headers (or send them as separate files) and send it again")
    notes = []
    skipped = [f.name for f in found if f.score == 0]
    if skipped:
        notes.append(f"sheet(s) {', '.join(map(repr, skipped))} not read: no column of the feed's in their first "
                     f"{SHEET_SCAN_ROWS} rows")
    notes += [f"sheet {f.name!r} not read: it names only {f.score} of the {best} columns sheet {read[0].name!r} has "
              f"(row {f.row + 1})" for f in found if 0 < f.score < max(2, best / 2)]
    return read, notes


def _sheet_rows(workbook, read: list[SheetHeader]):
    """Rows of the sheets read, as one table under the first sheet's header: the first sheet whole
    (title rows, header, data, notes), each further sheet from below its header, its columns put in
    the first sheet's order by header name. With more than one sheet, each row ends with its sheet
    and its row in that sheet (SHEET_COLUMNS: kept aside with the row, and in reports)."""
    first = read[0]
    several = len(read) > 1
    order = [normalise_header(h) for h in first.headers]
    width = len(first.headers)
    for n, sheet in enumerate(read):
        rows = workbook.get_sheet_by_name(sheet.name).iter_rows()
        if n == 0:
            for i, row in enumerate(rows):
                cells = [_cell_text(v) for v in row]
                if several:
                    cells += [""] * (width - len(cells))  # as wide as the header, at least
                    cells += list(SHEET_COLUMNS) if i == sheet.row else ([sheet.name, str(i + 1)] if i > sheet.row else ["", ""])
                yield n, cells
            continue
        mine = [normalise_header(h) for h in sheet.headers]
        named = [k for k in mine if k]
        if sorted(named) != sorted(k for k in order if k):
            extra = [h for h in sheet.headers if normalise_header(h) and normalise_header(h) not in order]
            lacking = [h for h in first.headers if normalise_header(h) and normalise_header(h) not in mine]
            raise WorkbookError(f"sheet {sheet.name!r} has other columns than sheet {first.name!r}"
                                + (f" (also {', '.join(map(repr, extra))})" if extra else "")
                                + (f" (not {', '.join(map(repr, lacking))})" if lacking else "")
                                + " - give every sheet of data the same column headers and send it again")
        where = {k: i for i, k in enumerate(mine) if k}
        for i, row in enumerate(rows):
            if i <= sheet.row:
                continue
            cells = [_cell_text(v) for v in row]
            out = [cells[where[k]] if k and where.get(k, len(cells)) < len(cells) else "" for k in order]
            # a cell under no header in this sheet has no place in the table: the file is refused
            stray = [c for j, c in enumerate(cells) if c.strip() and not (j < len(mine) and mine[j])]
            if stray:
                raise WorkbookError(f"sheet {sheet.name!r} row {i + 1} has a value under no header ({stray[0][:40]!r})")
            yield n, out + [sheet.name, str(i + 1)]


MAX_EXPANSION = 200
"""A workbook's parts may hold at most this many times the bytes of the file (real ones: ~5-20x)."""
MAX_UNPACKED_BYTES = 4 * 2**30


MAX_SHEET_CELLS = 40_000_000
"""Rows x columns a sheet may span (calamine holds the whole range: ~1.3 GB at this size)."""
CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="([0-9]{1,7})"')
CONVERT_MEMORY_BYTES = 4 * 2**30
CONVERT_SECONDS = 900


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def check_archive(path: Path, max_columns: int | None = None) -> None:
    """Refuse a workbook built to exhaust the machine before any XML parser sees it: a zip bomb
    (parts unpacking to far more than the file could hold), XML with a DTD - entity definitions are
    how a "billion laughs" document expands to gigabytes, and no Excel part needs one - or a sheet
    whose cells reach past ``max_columns`` or span more than MAX_SHEET_CELLS (its last row and
    column, read from the cell references as the part streams by)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(m.file_size for m in members)
            if unpacked > min(MAX_UNPACKED_BYTES, MAX_EXPANSION * max(path.stat().st_size, 1)):
                raise WorkbookError(f"the workbook unpacks to {unpacked:,} bytes from {path.stat().st_size:,}: "
                                    "refused as a zip bomb")
            for member in members:
                if member.filename.endswith((".xml", ".rels")):
                    with archive.open(member) as fh:
                        head = fh.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise WorkbookError(f"part {member.filename} declares a DTD or entities, which Excel "
                                            "never writes: refused (XML entity expansion)")
                if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                    _check_extent(archive, member, max_columns)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"the file is not a readable Excel workbook: {exc}") from exc


def _check_extent(archive, member, max_columns: int | None) -> None:
    rows = columns = 0
    tail = b""
    with archive.open(member) as fh:
        while chunk := fh.read(1 << 20):
            text = tail + chunk
            for letters, row in CELL_REF.findall(text):
                columns = max(columns, _column_number(letters))
                rows = max(rows, int(row))
            for row in ROW_REF.findall(text):
                rows = max(rows, int(row))
            tail = text[-64:]  # a reference cut at the chunk boundary is read whole next time
    sheet = _sheet_names(archive).get(member.filename, member.filename.rsplit("/", 1)[-1])
    if max_columns is not None and columns > max_columns:
        raise WorkbookError(f"sheet {sheet!r} has cells in column {columns:,}; this feed takes at most {max_columns:,} "
                            "columns (its contract's max_columns) - clear the stray cells and send it again")
    if rows * columns > MAX_SHEET_CELLS:
        raise WorkbookError(f"sheet {sheet!r} spans {rows:,} rows x {columns:,} columns, more than an extract holds "
                            f"({MAX_SHEET_CELLS:,} cells) - clear the stray cells and send it again")


def _sheet_names(archive) -> dict[str, str]:
    """{part name: sheet name as the sender sees it}, from the workbook and its relationships."""
    try:
        book = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {m[0]: m[1] for m in re.findall(rb'Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
    targets.update({m[1]: m[0] for m in re.findall(rb'Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    names = {}
    for name, rid in re.findall(rb'<(?:\w+:)?sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]+)"', book):
        target = targets.get(rid, b"").decode("utf-8", "replace").lstrip("/")
        part = target if target.startswith("xl/") else f"xl/{target}"
        names[part] = name.decode("utf-8", "replace")
    return names


def sheet_lines_path(csv_path: Path) -> Path:
    """Where a workbook's conversion records which lines of the CSV came from which sheet and row."""
    return csv_path.with_name(csv_path.name + ".sheets.json")


def locate_in_sheets(problems: list, csv_path: Path) -> list:
    """The problems with each example's ``line`` (of the CSV the workbook was read into) also given as
    the ``sheet`` and ``sheet_row`` the sender sees in Excel; unchanged for a file that was no workbook."""
    try:
        ranges = json.loads(sheet_lines_path(csv_path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return problems
    for problem in problems:
        for example in problem.examples:
            line = example.get("line")
            found = next((r for r in ranges if isinstance(line, int) and r["first_line"] <= line <= r["last_line"]),
                         None)
            if found is not None:
                example["sheet"] = found["sheet"]
                example["sheet_row"] = found["first_row"] + line - found["first_line"]
    return problems


def conversion_notes_path(csv_path: Path) -> Path:
    """Where a conversion of the sender's file to the CSV COPY reads leaves its notes for the report
    (sheets read and not read; line endings made alike)."""
    return csv_path.with_name(csv_path.name + ".notes.json")


def xlsx_to_csv(path: Path, target: Path, contract: Contract, sheet: str | None = None) -> Path:
    """Write the contract's sheet of ``path`` as UTF-8 CSV at ``target``; returns ``target``.

    The archive is checked here; the parsing runs in a child process limited to CONVERT_MEMORY_BYTES
    and CONVERT_SECONDS, whose failure - a refusal, or the child killed by the parser itself - is a
    WorkbookError naming what happened."""
    if _magic(path) != OLE2_MAGIC:
        check_archive(path, contract.format.max_columns)  # an .xls is no archive: the child's limits bound it
    # the child writes a temporary sibling renamed into place only when whole: a child killed half-way
    # must not leave a truncated CSV that a later read of the same file would take for the sheet
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    command = [sys.executable, "-m", "connectors.xlsx", str(path), str(partial), sheet or ""]
    try:
        done = subprocess.run(command, input=contract.model_dump_json(), capture_output=True, text=True,
                              timeout=CONVERT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        for leftover in (partial, conversion_notes_path(partial), sheet_lines_path(partial)):
            leftover.unlink(missing_ok=True)
        raise WorkbookError(f"the workbook could not be read within {CONVERT_SECONDS} s") from exc
    if done.returncode == 0:
        conversion_notes_path(partial).replace(conversion_notes_path(target))
        sheet_lines_path(partial).replace(sheet_lines_path(target))
        partial.replace(target)
        return target
    partial.unlink(missing_ok=True)
    conversion_notes_path(partial).unlink(missing_ok=True)
    sheet_lines_path(partial).unlink(missing_ok=True)
    if done.returncode == 3:  # the child's own refusal: its message is for the sender
        raise WorkbookError(done.stderr.strip().splitlines()[-1])
    raise WorkbookError("the workbook could not be read: the reader stopped ("
                        f"{'out of memory' if 'alloc' in done.stderr else f'exit {done.returncode}'}) - "
                        "re-save it from Excel as a plain .xlsx and send it again")


def _convert(path: Path, target: Path, contract: Contract, sheet: str | None) -> Path:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise WorkbookError(f"the file is not a readable Excel workbook: {exc}") from exc
    try:
        read, notes = _sheets_to_read(workbook, contract, sheet)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            counts = [0] * len(read)  # lines written of each sheet
            for n, cells in _sheet_rows(workbook, read):
                writer.writerow(cells)
                counts[n] += 1
        ends = list(itertools.accumulate(counts))
        # where each line of the CSV came from, so a report can name the sheet and the row a sender sees
        sheet_lines_path(target).write_text(json.dumps([
            {"sheet": r.name, "first_line": end - count + 1, "last_line": end, "first_row": 1 if n == 0 else r.row + 2}
            for n, (r, count, end) in enumerate(zip(read, counts, ends, strict=True))]), encoding="utf-8")
        if len(read) > 1:
            notes.append(f"{len(read)} sheets read as one table (each row keeps its sheet and row, as "
                         f"{SHEET_COLUMNS[0]!r} and {SHEET_COLUMNS[1]!r}): " + "; ".join(f"{r.name!r} as lines {end - count + 1}-{end}"
                                                      for r, count, end in zip(read, counts, ends, strict=True)))
        conversion_notes_path(target).write_text(json.dumps(notes), encoding="utf-8")
    except CalamineError as exc:
        raise WorkbookError(f"the file is not a readable Excel workbook: {exc}") from exc
    finally:
        workbook.close()
    return target


def main(argv: list[str]) -> int:
    """Child process of :func:`xlsx_to_csv`: ``path target sheet``, the contract as JSON on stdin."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CONVERT_MEMORY_BYTES, CONVERT_MEMORY_BYTES))
    path, target, sheet = argv
    try:
        _convert(Path(path), Path(target), Contract.model_validate_json(sys.stdin.read()), sheet or None)
    except WorkbookError as exc:
        sys.stderr.write(f"{exc}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
