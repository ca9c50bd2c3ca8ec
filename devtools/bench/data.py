"""The benchmark's files, generated deterministically into ``<state>/bench/data`` and kept between runs.

Police months are cut from one generated base file (its rows with the month changed): generating
rows in Python costs ~16 s per million, so a 2 GB file is made from the base's bytes in seconds.
The crime identifiers therefore repeat between months - nothing in the platform relies on them
being unique (a file's rows are keyed by file and row number).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from devtools.generate_data import (
    london_lads,
    london_lsoas,
    write_police_csv,
    write_social_lettings_xlsx,
)
from totalplace.reference import REFERENCE_DIR

BASE_MONTH = "2020-01"


def _lsoas() -> list[tuple[str, str]]:
    return london_lsoas(REFERENCE_DIR / "ons_lsoa_lookup.csv")


def police_base(folder: Path, rows: int) -> Path:
    """The generated base file every police month is cut from (``rows`` rows, month 2020-01)."""
    path = folder / f"police_base_{rows}.csv"
    if not path.exists():
        write_police_csv(path, rows, _lsoas(), month=BASE_MONTH)
    return path


def police_month(folder: Path, base: Path, rows: int, month: str) -> Path:
    """A street-crime file of ``rows`` rows for ``month``: the base's rows repeated as needed."""
    path = folder / f"police_{month}_{rows}.csv"
    if path.exists():
        return path
    header, _, body = base.read_bytes().partition(b"\r\n")
    body = body.replace(f",{BASE_MONTH},".encode(), f",{month},".encode())
    lines_per_base = body.count(b"\r\n")
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as out:
        out.write(header + b"\r\n")
        left = rows
        while left >= lines_per_base:
            out.write(body)
            left -= lines_per_base
        if left:
            cut = 0
            for _ in range(left):
                cut = body.index(b"\r\n", cut) + 2
            out.write(body[:cut])
    tmp.rename(path)
    return path


def rows_for_bytes(base: Path, target_bytes: int) -> int:
    """How many police rows make a file of about ``target_bytes``."""
    size = base.stat().st_size
    with base.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1
    return max(1, round(target_bytes / (size / lines)))


SPEND_HEADER = ["Body Name", "Date", "Transaction Number", "Invoice Number", "Amount", "Supplier Name",
                "Expense Area", "Expense Type", "Expense Code"]
SUPPLIERS = ["Café Nero Group Ltd", "Société Générale", "Hôtel du Département", "Müller Building Services",
             "Smith & Jones (Contractors) Ltd", "Anytown Care Homes", "Crèche Partners CIC", "O'Neill Transport"]
AREAS = [("Adult Social Care", "Residential Care"), ("Children's Services", "Foster Care"),
         ("Highways", "Road Maintenance"), ("Waste", "Landfill Tax"), ("Libraries", "Book Fund")]


def council_spend_cp1252(folder: Path, rows: int) -> Path:
    """A council spend-over-£500 file as Excel writes it on Windows: cp1252 (£, accented supplier
    names), DD/MM/YYYY dates, amounts in quotes with thousands separators ("£12,345.67")."""
    path = folder / f"council_spend_cp1252_{rows}.csv"
    if path.exists():
        return path
    rng = random.Random(20250)
    tmp = path.with_suffix(".part")
    with tmp.open("w", newline="", encoding="cp1252") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(SPEND_HEADER)
        for i in range(rows):
            area, kind = rng.choice(AREAS)
            amount = rng.uniform(500, 250_000)
            writer.writerow(["Anytown Council", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024",
                             f"T{i:08d}", f"INV-{rng.randint(1, 10**6)}", f"£{amount:,.2f}", rng.choice(SUPPLIERS),
                             area, kind, f"{rng.randint(1000, 9999)}"])
    tmp.rename(path)
    return path


def lettings_xlsx(folder: Path, rows: int) -> tuple[Path, Path]:
    """A social-lettings workbook of ``rows`` rows, and the same sheet as CSV (the bare COPY's input)."""
    from connectors.xlsx import xlsx_to_csv
    from totalplace.contracts import get_contract
    from totalplace.settings import PROJECT_ROOT

    path = folder / f"social_lettings_{rows}.xlsx"
    if not path.exists():
        write_social_lettings_xlsx(path, rows, _lsoas(), london_lads(REFERENCE_DIR / "ons_lsoa_lookup.csv"))
    as_csv = folder / f"social_lettings_{rows}.csv"
    if not as_csv.exists():
        contract = get_contract(PROJECT_ROOT / "feeds", "housing", "social_lettings")
        xlsx_to_csv(path, as_csv, contract, contract.format.sheet)
    return path, as_csv


__all__ = ["council_spend_cp1252", "lettings_xlsx", "police_base", "police_month", "rows_for_bytes"]
