"""Reading a file's header row and matching it to the feed contract.

Publishers rename and reorder columns, so the header is matched by name (case- and
whitespace-insensitive, with the contract's aliases), never by position. The result says, for
each column of the file in order, which landing column receives it - unknown columns are kept
(as ``_extra_<n>``) so nothing is lost, and their original names are recorded.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from totalplace.contracts import Contract, normalise_header

# Python's csv module refuses a cell over 128 KiB; a real file can have one (a pasted document, a
# JSON blob), and PostgreSQL takes up to 1 GB. The file's own size bounds what is read.
csv.field_size_limit(2**30)

HEADER_READ_BYTES = 1 << 20

SHEET_COLUMNS = ("(sheet)", "(sheet row)")
"""Columns a workbook read from several sheets gains: each row's sheet and row (kept aside, never data)."""


class HeaderError(ValueError):
    """The file cannot be read far enough to find its header."""


@dataclass
class HeaderMatch:
    """How the columns of one file map onto a contract."""

    headers: list[str]
    """The header cells as the file has them."""
    targets: list[str]
    """Landing column for each header cell, in file order (contract name or ``_extra_<n>``)."""
    missing: list[str] = field(default_factory=list)
    """Headers of required contract columns that the file lacks."""
    absent_optional: list[str] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)
    """``_extra_<n>`` -> original header, for columns the contract does not know."""
    duplicates: list[str] = field(default_factory=list)
    """Headers that map to a contract column already taken by an earlier header."""
    header_line: int = 1
    """Physical line of the file where the header row starts (title rows above it are skipped)."""
    offset: int = 0
    """Byte offset of that line: COPY streams the file from here."""
    measures: dict[str, tuple[int, str]] = field(default_factory=dict)
    """For a wide (unpivoted) feed: ``_measure_<n>`` -> (column number, header) of each measure column."""
    derived: list[str] = field(default_factory=list)
    """Landing columns appended to every row on the way in (e.g. an NHS number's check-digit result)."""
    header_first_line: int = 1
    """First line of a header written over two rows (else ``header_line``)."""
    has_header: bool = True
    """False for a file without a header row: ``headers`` are then the contract's, by position."""
    notes: list[str] = field(default_factory=list)
    """How columns the exact names did not settle were read (connectors.column_scoring), for the report."""
    candidates: dict[str, list] = field(default_factory=dict)
    """Required column still unread -> the best candidate headers, with their scores."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicates

    def header_of(self, column: str) -> str:
        """The header the sender used for a landing column (for reports in their own words)."""
        for header, target in zip(self.headers, self.targets, strict=True):
            if target == column:
                return header
        return column


def detect_encoding(path: Path) -> str:
    """``utf-8`` when every byte of the file decodes as UTF-8 (a BOM is fine), else ``cp1252``.

    Windows-1252 is what Excel on a UK council PC writes for "£"; text that is valid UTF-8 is
    almost never meant as Windows-1252, so the order of the test is safe.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


@dataclass(frozen=True)
class HeaderRow:
    cells: list[str]
    line: int
    offset: int
    first_line: int | None = None
    """Where a header written over two rows (merged cells above sub-headings) starts."""
    cut: bool = False
    """The row goes on past the bytes read (HEADER_READ_BYTES): it has at least ``len(cells)`` cells."""


MAX_PREAMBLE_RECORDS = 50


def read_header(path: Path, *, encoding: str = "utf-8", delimiter: str = ",",
                known: set[str] | None = None) -> HeaderRow:
    """The header row of ``path``: the first record, or - given the contract's ``known`` header
    keys - the record among the first 50 that names the most of them, so title and note rows
    that publishers put above the header are skipped. A header cell may be quoted and span lines.
    """
    with path.open("rb") as fh:
        head = fh.read(HEADER_READ_BYTES)
    if not head.strip():
        raise HeaderError("the file is empty")
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the read boundary is fine
            raise HeaderError(
                f"the file is not {encoding} text (byte 0x{head[exc.start]:02x} at offset {exc.start})"
            ) from exc
        text = head[: exc.start].decode(encoding)
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[list[str], int]] = []  # (cells, first line)
    line_before = 0
    try:
        for record in reader:
            records.append((record, line_before + 1))
            line_before = reader.line_num
            if known is None or len(records) >= MAX_PREAMBLE_RECORDS:
                break
    except csv.Error as exc:
        if not records:
            raise HeaderError(f"no header row could be read: {exc}") from exc
    if not records:
        raise HeaderError("no header row could be read")
    cut = len(head) == HEADER_READ_BYTES and len(records) == 1
    if known is None:
        cells, line = records[0]
        return HeaderRow(cells, line, _offset_of_line(head, line), cut=cut)

    def score(cells: list[str]) -> int:
        return len({normalise_header(c) for c in cells} & known)

    best = max(range(len(records)), key=lambda i: (score(records[i][0]), -i))
    # a header over two rows (a merged "Payment" above "Date" and "Amount") wins only if it names more
    joined = [combine_header_rows(records[i][0], records[i + 1][0]) for i in range(len(records) - 1)]
    pair = max(range(len(joined)), key=lambda i: (score(joined[i]), -i), default=None)
    if pair is not None and score(joined[pair]) > score(records[best][0]):
        line = records[pair + 1][1]
        return HeaderRow(joined[pair], line, _offset_of_line(head, line), first_line=records[pair][1])
    cells, line = records[best]
    return HeaderRow(cells, line, _offset_of_line(head, line), cut=cut)


def sample_columns(path: Path, *, encoding: str, delimiter: str, offset: int, rows: int = 200) -> dict[int, list[str]]:
    """{column position: values} of the first ``rows`` records below the header at ``offset`` - what
    the column scorer judges a column's content by."""
    out: dict[int, list[str]] = {}
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(HEADER_READ_BYTES)
    text = data.decode(encoding, errors="replace").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        next(reader, None)  # the header itself
        for n, record in enumerate(reader):
            if n >= rows:
                break
            for i, cell in enumerate(record):
                out.setdefault(i, []).append(cell)
    except csv.Error:
        pass  # a sample cut inside a quoted cell: what was read is the sample
    return out


def apply_resolution(match: HeaderMatch, contract: Contract, resolution) -> HeaderMatch:
    """``match`` with what the column scorer decided: columns newly read, repeated headers' columns
    kept aside, and what is still missing (with the candidates) - see connectors.column_scoring."""
    targets = list(match.targets)
    unknown = dict(match.unknown)
    for i, column in resolution.assigned.items():
        unknown.pop(targets[i], None)
        targets[i] = column
    for i in resolution.set_aside:
        if not targets[i].startswith("_extra_") or i in resolution.assigned:
            extra = f"_extra_{i + 1}"
            unknown[extra] = f"{' '.join(match.headers[i].split())} (column {i + 1})"
            targets[i] = extra
    settled = {match.headers[i] for i in (*resolution.assigned, *resolution.set_aside)}
    taken = set(targets)
    match.targets = targets
    match.unknown = unknown
    match.missing = [c.header for c in contract.header_columns if c.required and c.name not in taken
                     and c.header in match.missing]
    match.duplicates = [h for h in match.duplicates if h not in settled]
    match.absent_optional = [c.header for c in contract.header_columns if not c.required and c.name not in taken]
    match.notes = list(resolution.notes)
    match.candidates = resolution.candidates
    return match


def combine_header_rows(top: list[str], bottom: list[str]) -> list[str]:
    """One header from two rows: a heading merged across columns (written once, the cells to its
    right left empty) is carried over the sub-headings below it; a cell with nothing below keeps
    its own name ("Date" merged down over both rows)."""
    width = max(len(top), len(bottom))
    top = top + [""] * (width - len(top))
    bottom = bottom + [""] * (width - len(bottom))
    out, carried = [], ""
    for above, below in zip(top, bottom, strict=True):
        above, below = above.strip(), below.strip()
        if above:
            carried = above
        elif not below:
            carried = ""
        heading = above or (carried if below else "")
        out.append(" ".join(part for part in (heading, below) if part))
    return out


def _offset_of_line(data: bytes, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = data.index(b"\n", offset) + 1
    return offset


def header_keys(contract: Contract) -> set[str]:
    return {key for col in contract.header_columns for key in col.header_keys}


def match_header(headers: list[str], contract: Contract, *, line: int = 1, offset: int = 0,
                 mapping: dict[str, str] | None = None) -> HeaderMatch:
    """Each header to a contract column by name - the sending partner's own ``mapping`` (normalised
    header -> column, totalplace.mappings) first, then the contract's header and aliases."""
    by_key = {key: col.name for col in contract.header_columns for key in col.header_keys}
    by_key.update(mapping or {})
    targets: list[str] = []
    taken: set[str] = set()
    unknown: dict[str, str] = {}
    labels: set[str] = set()  # unknown.values(), as a set: matching stays linear in the number of columns
    measures: dict[str, tuple[int, str]] = {}
    duplicates: list[str] = []
    for i, header in enumerate(headers, start=1):
        name = by_key.get(normalise_header(header))
        if name is None and contract.unpivot is not None and normalise_header(header) and header not in SHEET_COLUMNS:
            # in a wide table every other named column is a measure; the header is the measure's name
            measure = f"_measure_{i}"
            measures[measure] = (i, " ".join(header.split()))
            targets.append(measure)
        elif name is None or name in taken:
            if name is not None:
                duplicates.append(header)
            extra = f"_extra_{i}"
            # the name it is kept under in _extra: unique, and never empty
            label = " ".join(header.split())
            unknown[extra] = label if label and label not in labels else f"{label} (column {i})".strip()
            labels.add(unknown[extra])
            targets.append(extra)
        else:
            taken.add(name)
            targets.append(name)
    missing = [c.header for c in contract.header_columns if c.required and c.name not in taken]
    absent_optional = [c.header for c in contract.header_columns if not c.required and c.name not in taken]
    if contract.unpivot is not None and not measures:
        missing.append(f"(at least one column of values for {contract.unpivot.key_column})")
    return HeaderMatch(headers, targets, missing, absent_optional, unknown, duplicates, line, offset, measures)


def match_by_position(path: Path, contract: Contract, *, encoding: str, delimiter: str) -> HeaderMatch:
    """For a file without a header row: its columns are the contract's header columns, in order."""
    first = read_header(path, encoding=encoding, delimiter=delimiter).cells
    columns = contract.header_columns
    targets = [c.name for c in columns[: len(first)]] + [f"_extra_{i}" for i in range(len(columns) + 1, len(first) + 1)]
    headers = [c.header for c in columns[: len(first)]] + [f"(column {i})" for i in range(len(columns) + 1, len(first) + 1)]
    missing = [c.header for c in columns[len(first):] if c.required]
    unknown = {t: h for t, h in zip(targets, headers, strict=True) if t.startswith("_extra_")}
    return HeaderMatch(headers, targets, missing, [], unknown, [], header_line=0, offset=0,
                        header_first_line=0, has_header=False)


def ragged_rows(path: Path, match: HeaderMatch, *, encoding: str, delimiter: str,
                limit: int = 10) -> tuple[int, list[dict], int]:
    """Data rows whose number of cells differs from the header's: (how many, the first ``limit``,
    how many empty or one-cell lines).

    Only called after COPY refused a file, to tell the sender about every such row, not just the
    first. Empty lines, rows of empty cells shorter than the header, and one-cell lines (a note such
    as "Source: ...") are counted apart: they are padded and read as rows that are not data, not
    rejected.
    """
    width = len(match.headers)
    count, examples, short = 0, [], 0
    with path.open(encoding=encoding, newline="", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        line_before = 0
        for record in reader:
            first_line = line_before + 1
            line_before = reader.line_num
            if first_line <= match.header_line:
                continue
            if len(record) <= 1 < width or (len(record) < width and not any(c.strip() for c in record)):
                short += 1  # a note, or a row of nothing (",,,,," shorter than the header)
            elif len(record) != width:
                count += 1
                if len(examples) < limit:
                    examples.append({"row": None, "line": first_line, "value": f"{len(record)} cells"})
    return count, examples, short
