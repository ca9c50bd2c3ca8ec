"""A month of England's files at once, under the scheduler: the platform as deployed, on Celery workers.

43 police forces' street-crime months (data.police.uk's shape, about 500,000 rows in all), 300 councils'
spend over £500 in the layouts real councils publish (Devon's, Leeds's and Oxford's headers, dates and
amounts as they write them; about 1,000,000 lines), and 40 NHS bodies' spend over £25k, each sent from
its own account of a registry made for the run. All are dropped at once into a running ``totalplace
airflow --workers 2``; the figure is the time from the first drop to every file published or
quarantined, the marts rebuilt with all of them and the site rewritten. The books are checked after:
each file's outcome, and the spend in raw against the pounds the generator wrote (computed here, not
read back from the platform).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

POLICE_FORCES = 43
COUNCILS = 300
NHS_BODIES = 40
POLICE_ROWS = 500_000
COUNCIL_LINES = 1_000_000


def _devon(body, code, when, txn, amount, supplier, area, kind, expense):
    return [code, body, when.strftime("%d/%m/%Y"), txn, f"{amount:,.2f}", supplier, "", "", area, kind, expense,
            "Business"]


def _leeds_2010(body, code, when, txn, amount, supplier, area, kind, expense):
    return [body, f"http://statistics.data.gov.uk/doc/local-authority/{code}", area, area, kind, kind, expense,
            when.strftime("%d/%m/%Y"), txn, f"{amount:.2f} ", "R", supplier]


def _leeds_2020(body, code, when, txn, amount, supplier, area, kind, expense):
    return [f"http://opendatacommunities.org/id/council/{code}", body, when.strftime("%d/%m/%Y"), area, area, kind,
            kind, expense, when.strftime("%d/%m/%Y"), txn, "0.00", f"{amount:.2f}", "R", supplier, "No"]


def _oxford(body, code, when, txn, amount, supplier, area, kind, expense):
    return [body, area, kind, expense, when.strftime("%d/%m/%Y"), txn, f"{amount:.2f}", "Revenue", f"S{txn}", supplier]


LAYOUTS = [  # (header as the council publishes it, row writer, file encoding)
    (["Body", "Name of Body", "Date", "Transaction number", "Amount", "Supplier name", "Supplier ID", "VAT reg no",
      "Expense area", "Expense type", "Expense code", "Creditor type"], _devon, "utf-8"),
    (["Body name", "Body", "Service label", "Service division label", "Expenditure category",
      "Detailed expenditure type", "Detailed expenditure code", "Date paid", "Transaction number", "Net amount",
      "Capital or revenue", "Supplier name"], _leeds_2010, "cp1252"),
    (["Organisation Code", "Organisation Label", "Effective Date", "Organisational Unit", "Service Division Label",
      "Category Internal Name", "Purpose", "Detailed Expenditure Code", "Payment Date", "Transaction Number",
      "Irrecoverable VAT Amount", "Amount", "Capital Or Revenue", "Beneficiary Name", "Procurement Card"],
     _leeds_2020, "utf-8"),
    (["Body Name", "Organisational Unit", "Expenditure Category", "Expenditure Code", "Paid Date", "Trans No",
      "Amount", "Type", "Supplier ID", "Supplier Name"], _oxford, "utf-8"),
]
AREAS = [("Adult Social Care", "Residential Care"), ("Children's Services", "Foster Care"),
         ("Highways", "Road Maintenance"), ("Waste", "Landfill Tax"), ("Libraries", "Book Fund")]
SUPPLIERS = ["Café Nero Group Ltd", "Smith & Jones (Contractors) Ltd", "Anytown Care Homes", "O'Neill Transport",
             "Müller Building Services", "Crèche Partners CIC"]


@dataclass
class Drop:
    account: str
    feed: str
    path: Path
    pounds: Decimal | None = None
    """What the generator wrote in the amount column (council and NHS spend), for the books."""


def council_file(path: Path, layout: int, body: str, code: str, lines: int, seed: int) -> Decimal:
    """A council's month of spend over £500 in one of the real layouts; returns its total in pounds."""
    from datetime import date

    header, writer, encoding = LAYOUTS[layout]
    rng = random.Random(seed)
    total = Decimal(0)
    with path.open("w", newline="", encoding=encoding) as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow(header)
        for i in range(lines):
            amount = Decimal(rng.randint(50_000, 25_000_000)) / 100
            total += amount
            area, kind = rng.choice(AREAS)
            out.writerow(writer(body, code, date(2025, 4, rng.randint(1, 28)), f"{seed}-{i:06d}", amount,
                                rng.choice(SUPPLIERS), area, kind, f"E{rng.randint(1000, 9999)}"))
    return total


def police_file(folder: Path, base: Path, force: int, rows: int) -> Path:
    """A force's street-crime month: the base file's rows from an offset of its own (so no two forces'
    files are the same bytes), month 2025-04."""
    lines = base.read_bytes().split(b"\r\n")
    header, body = lines[0], [line for line in lines[1:] if line]
    start = (force * 7919) % len(body)
    picked = [(body[(start + i) % len(body)]).replace(b",2020-01,", b",2025-04,") for i in range(rows)]
    path = folder / f"2025-04-force-{force:02d}-street.csv"
    path.write_bytes(b"\r\n".join([header, *picked]) + b"\r\n")
    return path


def national_month(folder: Path, base: Path, project_partners: Path, scale: float = 1.0) -> tuple[Path, list[Drop]]:
    """The registry (the project's bodies plus every generated one) and the files, written to ``folder``."""
    from devtools.generate_data import write_nhs_spend_over_25k_csv

    folder.mkdir(parents=True, exist_ok=True)
    registry = yaml.safe_load(project_partners.read_text())
    drops: list[Drop] = []
    forces, councils, bodies = (max(1, round(n * scale)) for n in (POLICE_FORCES, COUNCILS, NHS_BODIES))
    for i in range(1, forces + 1):
        account = f"force_{i:02d}"
        registry["partners"].append({"body": f"Police force {i:02d}", "agency_type": "police", "account": account,
                                     "feeds": ["street_crime"]})
        drops.append(Drop(account, "street_crime", police_file(folder, base, i, POLICE_ROWS // POLICE_FORCES)))
    for i in range(1, councils + 1):
        account = f"council_{i:03d}"
        body = f"Council {i:03d}"
        registry["partners"].append({"body": body, "agency_type": "council", "account": account,
                                     "feeds": ["spend_over_500"]})
        path = folder / f"{account}-spend-2025-04.csv"
        pounds = council_file(path, i % len(LAYOUTS), body, f"E{i:07d}", COUNCIL_LINES // COUNCILS, seed=i)
        drops.append(Drop(account, "spend_over_500", path, pounds))
    for i in range(1, bodies + 1):
        account = f"icb_{i:02d}"
        registry["partners"].append({"body": f"NHS body {i:02d}", "agency_type": "nhs", "account": account,
                                     "feeds": ["spend_over_25k"]})
        path = write_nhs_spend_over_25k_csv(folder / f"{account}-spend-over-25k-2025-04.csv", 400, seed=5000 + i)
        drops.append(Drop(account, "spend_over_25k", path))
    partners = folder / "partners.yml"
    partners.write_text(yaml.safe_dump(registry, sort_keys=False))
    return partners, drops
