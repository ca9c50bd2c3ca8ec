"""Read: turn the bytes a partner sent into a CSV and a matched header.

Stage 2 of ingest. Workbooks (.xlsx, .xls, .ods), GeoJSON and files with odd line endings are written
out as CSV beside the kept copy (``connectors`` does the reading); the encoding is detected; the
header row is found and matched to the contract - the sending partner's own mapping first, then the
contract's names and aliases, then what the column scorer can tell from names and content. A file
whose columns cannot be matched is rejected here, naming what is missing and what came nearest.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from connectors.column_scoring import resolve
from connectors.header import (
    HeaderError,
    HeaderMatch,
    apply_resolution,
    detect_encoding,
    header_keys,
    match_by_position,
    match_header,
    read_header,
    sample_columns,
)
from connectors.xlsx import conversion_notes_path
from totalplace.contracts import Contract, normalise_header
from totalplace.mappings import load_mapping
from totalplace.reports import Problem, Rejected
from totalplace.settings import Settings


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
    target = workbook_csv(path, workdir) if not geojson else (workdir or path.parent) / (path.name + ".features.csv")
    if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    try:
        if geojson:
            return geojson_to_csv(path, target, contract.format.max_columns)
        return xlsx_to_csv(path, target, contract, contract.format.sheet)
    except (WorkbookError, GeoJSONError) as exc:
        raise Rejected([Problem(check="file_readable", rule=str(exc))]) from exc


def workbook_csv(path: Path, workdir: Path | None = None) -> Path:
    """Where a workbook's sheets are written out as one CSV (beside the file, or in ``workdir``)."""
    return (workdir or path.parent) / (path.name + ".sheet.csv")


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


def _position(headers: list[str], header: str) -> str:
    return "number " + " and ".join(str(i) for i, h in enumerate(headers, start=1) if h == header)


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
