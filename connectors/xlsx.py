"""Excel workbooks: the chosen sheet written out as a CSV the COPY path reads.

Read with calamine (Rust, ``python-calamine``): cached formula results, never the formulas; dates
(1900 and 1904 systems) as dates. It reads a sheet whole before the rows are written out - measured
on the benchmark's 200k-row, 9-column workbook: 3.6 s where openpyxl's row-by-row read-only mode
took 44-54 s, for the same rows, at the cost of memory (the loader's peak: 430 MB; Excel's limit
of 1,048,576 rows bounds it). Every row is as wide as the sheet (openpyxl left a title row above
the header one cell wide; the header finder reads both alike). Dates become ISO text, numbers their
plain decimal form - the contract's types then check them like any CSV. Before any parser sees the
file, ``check_archive`` refuses zip bombs and XML with entity definitions.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

from connectors.header import header_keys
from totalplace.contracts import Contract, normalise_header

ZIP_MAGIC = b"PK\x03\x04"


class WorkbookError(ValueError):
    """The workbook cannot be read, or has no sheet the contract recognises."""


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == ZIP_MAGIC


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


def _pick_sheet(workbook, contract: Contract, wanted: str | None):
    names = workbook.sheet_names
    if wanted is not None:
        if wanted not in names:
            raise WorkbookError(f"the workbook has no sheet {wanted!r} (sheets: {', '.join(names)})")
        return workbook.get_sheet_by_name(wanted)
    keys = header_keys(contract)
    best, best_score = None, 0
    for name in names:
        sheet = workbook.get_sheet_by_name(name)
        for row in itertools.islice(sheet.iter_rows(), 50):
            score = len({normalise_header(_cell_text(v)) for v in row} & keys)
            if score > best_score:
                best, best_score = sheet, score
    if best is None:
        raise WorkbookError(f"no sheet has the feed's column headers (sheets: {', '.join(names)})")
    return best


MAX_EXPANSION = 200
"""A workbook's parts may hold at most this many times the bytes of the file (real ones: ~5-20x)."""
MAX_UNPACKED_BYTES = 4 * 2**30


def check_archive(path: Path) -> None:
    """Refuse a workbook built to exhaust the machine before any XML parser sees it: a zip bomb
    (parts unpacking to far more than the file could hold) or XML with a DTD - entity
    definitions are how a "billion laughs" document expands to gigabytes, and no Excel part
    needs one."""
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
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"the file is not a readable Excel workbook: {exc}") from exc


def xlsx_to_csv(path: Path, target: Path, contract: Contract, sheet: str | None = None) -> Path:
    """Write the contract's sheet of ``path`` as UTF-8 CSV at ``target``; returns ``target``."""
    from python_calamine import CalamineError, CalamineWorkbook

    check_archive(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise WorkbookError(f"the file is not a readable Excel workbook: {exc}") from exc
    try:
        ws = _pick_sheet(workbook, contract, sheet)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            for row in ws.iter_rows():
                writer.writerow([_cell_text(v) for v in row])
    except CalamineError as exc:
        raise WorkbookError(f"the file is not a readable Excel workbook: {exc}") from exc
    finally:
        workbook.close()
    return target
