"""Deterministic generators of realistic extracts, for the benchmark and tests.

Same seed, same bytes: a benchmark figure or a test failure can be reproduced exactly.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from totalplace.state import mark_generated  # noqa: F401 - generators record what they wrote through it

POLICE_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
CRIME_TYPES = [
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
    "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
]
OUTCOMES = [
    "Investigation complete; no suspect identified", "Unable to prosecute suspect", "Under investigation",
    "Status update unavailable", "Awaiting court outcome", "Offender given a caution", "Local resolution",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Park Road", "London Road", "Victoria Street", "Mill Lane"]


def london_lsoas(lookup_csv: Path, limit: int = 2000) -> list[tuple[str, str]]:
    """(code, name) of real London LSOAs from the ONS lookup, so generated crimes join to places."""
    out = []
    with lookup_csv.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["LAD19CD"].startswith("E09"):
                out.append((row["LSOA11CD"], row["LSOA11NM"]))
                if len(out) >= limit:
                    break
    return out


def _write_csv(path: Path, header: list[str], rows, *, lineterminator: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator=lineterminator)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_police_csv(path: Path, rows: int, lsoas: list[tuple[str, str]], *, month: str = "2020-01",
                     seed: int = 20201) -> Path:
    """A data.police.uk-shaped street-level crime file of ``rows`` data rows."""
    rng = random.Random(seed)

    def generate():
        for _ in range(rows):
            crime_type = rng.choice(CRIME_TYPES)
            asb = crime_type == "Anti-social behaviour"
            located = rng.random() > 0.02
            code, name = rng.choice(lsoas) if located else ("", "")
            yield [
                "" if asb else f"{rng.getrandbits(256):064x}",
                month,
                "Metropolitan Police Service",
                "Metropolitan Police Service",
                f"{rng.uniform(-0.5, 0.3):.6f}" if located else "",
                f"{rng.uniform(51.3, 51.7):.6f}" if located else "",
                f"On or near {rng.choice(STREETS)}" if located else "No location",
                code,
                name,
                crime_type,
                "" if asb else rng.choice(OUTCOMES),
                "",
            ]

    return _write_csv(path, POLICE_HEADER, generate(), lineterminator="\r\n")


STOP_SEARCH_HEADER = [
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender",
    "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search",
    "Outcome", "Outcome linked to object of search", "Removal of more than just outer clothing",
]
OUTCOMES_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
    "LSOA name", "Outcome type",
]


def write_stop_and_search_csv(path: Path, rows: int, *, month: str = "2020-01", seed: int = 20202) -> Path:
    """A data.police.uk-shaped stop-and-search file."""
    rng = random.Random(seed)

    def generate():
        for _ in range(rows):
            located = rng.random() > 0.1
            yield [
                rng.choice(["Person search", "Vehicle search", "Person and Vehicle search"]),
                f"{month}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00+00:00",
                rng.choice(["False", "True", ""]),
                "",
                f"{rng.uniform(51.3, 51.7):.6f}" if located else "",
                f"{rng.uniform(-0.5, 0.3):.6f}" if located else "",
                rng.choice(["Male", "Female", ""]),
                rng.choice(["10-17", "18-24", "25-34", "over 34", ""]),
                rng.choice(["White - English/Welsh/Scottish/Northern Irish/British", "Black/African/Caribbean/Black "
                            "British - Any other Black/African/Caribbean background", "Other ethnic group - Not stated"]),
                rng.choice(["White", "Black", "Asian", "Other", ""]),
                rng.choice(["Misuse of Drugs Act 1971 (section 23)", "Police and Criminal Evidence Act 1984 (section 1)"]),
                rng.choice(["Controlled drugs", "Offensive weapons", "Stolen goods"]),
                rng.choice(["A no further action disposal", "Arrest", "Community resolution"]),
                rng.choice(["False", "True", ""]),
                rng.choice(["False", "True", ""]),
            ]

    return _write_csv(path, STOP_SEARCH_HEADER, generate(), lineterminator="\n")


def write_outcomes_csv(path: Path, rows: int, lsoas: list[tuple[str, str]], *, month: str = "2020-01",
                       seed: int = 20203) -> Path:
    """A data.police.uk-shaped outcomes file."""
    rng = random.Random(seed)

    def generate():
        for _ in range(rows):
            code, name = rng.choice(lsoas)
            yield [
                f"{rng.getrandbits(256):064x}", month, "Metropolitan Police Service", "Metropolitan Police Service",
                f"{rng.uniform(-0.5, 0.3):.6f}", f"{rng.uniform(51.3, 51.7):.6f}",
                f"On or near {rng.choice(STREETS)}", code, name, rng.choice(OUTCOMES),
            ]

    return _write_csv(path, OUTCOMES_HEADER, generate(), lineterminator="\n")


# ---------------------------------------------------------------- person-level and other agency extracts
# No real public samples exist for these (person-level data is never published), so they are
# generated with the mess real extracts have: NHS numbers with spaces or a wrong check digit,
# several date formats, pound signs and thousands separators, title rows, totals rows,
# suppression markers.

def london_lads(lookup_csv: Path) -> list[tuple[str, str]]:
    """(code, name) of the 33 London local authorities (E09), from the ONS lookup."""
    with lookup_csv.open(newline="", encoding="utf-8") as fh:
        return sorted({(r["LAD19CD"], r["LAD19NM"]) for r in csv.DictReader(fh) if r["LAD19CD"].startswith("E09")})


def nhs_number(rng: random.Random, *, valid: bool = True) -> str:
    """A 10-digit NHS number in the 9xx test range, with a correct (or deliberately wrong) check digit."""
    while True:
        digits = [9, rng.randint(0, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            break
    last = check if valid else (check + 1) % 10
    return "".join(map(str, digits)) + str(last)


def _dob(rng: random.Random, fmt: str) -> str:
    year, month, day = rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28)
    return f"{day:02d}/{month:02d}/{year}" if fmt == "dmy" else f"{year}-{month:02d}-{day:02d}"


def _day(month: str, rng: random.Random) -> int:
    return rng.randint(1, 28)


AE_HEADER = ["Attendance ID", "NHS Number", "Date of Birth", "Sex", "LSOA", "Arrival Date", "Provider Code",
             "Diagnosis Group", "Disposal", "Cost (£)"]
DIAGNOSIS_GROUPS = ["Injury", "Respiratory", "Cardiac", "Alcohol related", "Drug related", "Mental health",
                    "Gastrointestinal", "Falls", "Other"]


def _patients(rng: random.Random, count: int, lsoas: list[tuple[str, str]], dob_format: str, population=None,
              invalid_share: float = 0.0) -> list[tuple[str, str, str, list[str]]]:
    """(NHS number, date of birth, LSOA, [forename, surname, postcode]) of the patients of an extract:
    invented ones, or people of a synthetic population (``generate_people``), who carry names."""
    if population:
        return [(p.nhs, p.born.strftime("%d/%m/%Y") if dob_format == "dmy" else p.born.isoformat(), p.lsoa,
                 [p.forename, p.surname, p.postcode]) for p in (rng.choice(population) for _ in range(count))]
    return [(nhs_number(rng, valid=rng.random() >= invalid_share), _dob(rng, dob_format), rng.choice(lsoas)[0], [])
            for _ in range(count)]


NAME_COLUMNS = ["Forename", "Surname", "Postcode"]


def write_ae_attendances_csv(path: Path, rows: int, lsoas: list[tuple[str, str]], *, month: str = "2021-04",
                             people: int | None = None, seed: int = 20211, population=None) -> tuple[Path, dict]:
    """An A&E attendance extract (one row per attendance) and facts about it for tests.

    The same person attends several times (``people`` distinct NHS numbers). NHS numbers come
    as ``943 476 5919`` or ``9434765919``; about 1 in 100 has a wrong check digit. With a
    ``population`` the patients are its people and the extract adds their names and postcode.
    """
    rng = random.Random(seed)
    persons = _patients(rng, people or max(1, rows // 3), lsoas, "dmy", population, invalid_share=0.01)
    facts = {"nhs_numbers": set(), "invalid": 0}
    year, mon = month.split("-")

    def generate():
        for i in range(rows):
            nhs, dob, lsoa, names = rng.choice(persons)
            facts["nhs_numbers"].add(nhs)
            shown = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if rng.random() < 0.5 else nhs
            yield [f"AE{seed}{i:07d}", shown, dob, rng.choice(["M", "F"]), lsoa,
                   f"{_day(month, rng):02d}/{mon}/{year}", "RAL", rng.choice(DIAGNOSIS_GROUPS),
                   rng.choice(["Discharged", "Admitted", "Referred"]), f"£{rng.choice([97, 145, 221, 337, 472]):,}.00",
                   *names]

    _write_csv(path, AE_HEADER + (NAME_COLUMNS if population else []), generate(), lineterminator="\r\n")
    from totalplace.identifiers import nhs_number_is_valid

    facts["invalid"] = sum(1 for n in facts["nhs_numbers"] if not nhs_number_is_valid(n))
    return path, facts


ADMISSIONS_HEADER = ["SPELL_ID", "NHS_NUMBER", "DOB", "LSOA11", "ADMIDATE", "DISDATE", "ADMIMETH", "DIAG_GROUP", "COST"]


def write_hospital_admissions_csv(path: Path, rows: int, lsoas: list[tuple[str, str]], *, month: str = "2021-04",
                                  seed: int = 20212, population=None) -> Path:
    """An inpatient spell extract in HES-like column names, ISO dates, plain costs."""
    rng = random.Random(seed)
    persons = _patients(rng, max(1, rows // 2), lsoas, "iso", population)

    def generate():
        for i in range(rows):
            nhs, dob, lsoa, names = rng.choice(persons)
            day = _day(month, rng)
            yield [f"S{seed}{i:07d}", nhs, dob, lsoa, f"{month}-{day:02d}", f"{month}-{min(28, day + rng.randint(0, 9)):02d}",
                   rng.choice(["Elective", "Emergency"]), rng.choice(DIAGNOSIS_GROUPS), f"{rng.randint(600, 9000)}.00",
                   *names]

    return _write_csv(path, ADMISSIONS_HEADER + (NAME_COLUMNS if population else []), generate(), lineterminator="\n")


NHS_SPEND_HEADER = ["Department Family", "Entity", "Date", "Expense Type", "Expense Area", "Supplier",
                    "Transaction Number", "Amount"]


def write_nhs_spend_over_25k_csv(path: Path, rows: int, *, month: str = "2021-04", seed: int = 20213) -> Path:
    """An NHS body's spend over £25,000: a title row, DD-Mon-YY dates, £ amounts and a Total row that adds up."""
    rng = random.Random(seed)
    year, mon = month.split("-")
    month_name = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][int(mon) - 1]
    total = 0
    lines = []
    for i in range(rows):
        pence = rng.randint(2_500_000, 90_000_000)
        total += pence
        lines.append(["Department of Health", "NHS Anytown Integrated Care Board",
                      f"{rng.randint(1, 28):02d}-{month_name}-{year[2:]}",
                      rng.choice(["Acute services", "Mental health services", "Community services", "Prescribing"]),
                      rng.choice(["Commissioning", "Primary care", "Corporate"]),
                      rng.choice(["Anytown Hospitals NHS Trust", "Anytown Mental Health NHS FT", "Care Ltd"]),
                      f"{seed}{i:06d}", f"£{pence / 100:,.2f}"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([f"NHS Anytown ICB: expenditure over £25,000, {month_name} {year}"])
        writer.writerow(NHS_SPEND_HEADER)
        writer.writerows(lines)
        writer.writerow(["", "", "", "", "", "Total", "", f"£{total / 100:,.2f}"])
    return path


HOMELESSNESS_HEADER = ["LA code", "LA name", "Quarter", "Households assessed", "Owed prevention duty",
                       "Owed relief duty", "Main duty owed"]


def write_homelessness_csv(path: Path, lads: list[tuple[str, str]], *, quarter: str = "2021-Q1",
                           seed: int = 20214) -> Path:
    """Statutory homelessness by local authority (H-CLIC style): title rows, "1,234", ".." and "x" markers."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["Table A1: Number of households owed a homelessness duty by local authority"])
        writer.writerow([f"{quarter}, England"])
        writer.writerow([])
        writer.writerow(HOMELESSNESS_HEADER)
        for code, name in lads:
            assessed = rng.randint(300, 2500)
            cells = [assessed, assessed * 55 // 100, assessed * 35 // 100, assessed * 8 // 100]
            shown = [f"{v:,}" for v in cells]
            if rng.random() < 0.15:
                shown[3] = rng.choice(["..", "x"])  # not returned / suppressed
            writer.writerow([code, name, quarter, *shown])
    return path


LETTINGS_HEADER = ["Tenant Ref", "Letting Date", "LA Code", "LSOA", "Tenancy Type", "Weekly Rent",
                   "Household Type", "Main Reason", "Previously Homeless"]


def write_social_lettings_xlsx(path: Path, rows: int, lsoas: list[tuple[str, str]], lads: list[tuple[str, str]],
                               *, month: str = "2021-04", seed: int = 20215) -> Path:
    """Social housing lettings (CORE style), one row per letting, as an Excel workbook with a notes sheet.

    Same cells for the same seed; the bytes differ between runs (the zip records the time it was written).
    """
    from openpyxl import Workbook

    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    notes = wb.create_sheet("Notes")
    notes.append(["Lettings made in the month. Tenant references are the landlord's own."])
    ws = wb.create_sheet("Lettings")
    ws.append([f"Anytown Homes lettings, {month}"])
    ws.append(LETTINGS_HEADER)
    import datetime as dt

    year, mon = map(int, month.split("-"))
    for i in range(rows):
        ws.append([f"T{rng.randint(10000, 99999)}-{i}", dt.datetime(year, mon, rng.randint(1, 28)),
                   rng.choice(lads)[0], rng.choice(lsoas)[0], rng.choice(["Secure", "Assured", "Starter", "Affordable rent"]),
                   round(rng.uniform(80, 240), 2), rng.choice(["Single adult", "Couple", "Lone parent", "Family"]),
                   rng.choice(["Homeless", "Overcrowding", "Medical", "Other"]), rng.choice(["Yes", "No"])])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


DWELLING_HEADER = ["LA Code", "LA Name", "Year", "Local Authority", "Private Registered Provider",
                   "Other public sector", "Private sector", "Total"]


def write_dwelling_stock_csv(path: Path, lads: list[tuple[str, str]], *, year: int = 2021, seed: int = 20216) -> Path:
    """Dwelling stock by tenure and LA (Live Table 100 style), thousands separators and an England total row."""
    rng = random.Random(seed)
    rows, sums = [], [0, 0, 0, 0, 0]
    for code, name in lads:
        parts = [rng.randint(0, 30000), rng.randint(5000, 40000), rng.randint(0, 900), rng.randint(60000, 120000)]
        values = [*parts, sum(parts)]
        sums = [a + b for a, b in zip(sums, values, strict=True)]
        rows.append([code, name, str(year), *(f"{v:,}" for v in values)])
    rows.append(["", "England", str(year), *(f"{v:,}" for v in sums)])
    return _write_csv(path, DWELLING_HEADER, rows, lineterminator="\r\n")


LAND_HEADER = ["UPRN", "Property Name", "Address", "Postcode", "Tenure", "Easting", "Northing", "Asset Type",
               "Holding Authority"]


ASSET_HOLDERS = ["London Borough of Barnet", "London Borough of Barnet", "NHS North London ICB", "Metropolitan Police Service"]


def write_land_assets_csv(path: Path, rows: int, *, seed: int = 20217) -> Path:
    """A joint public-estate register (the council's land and buildings with its partners', One Public
    Estate style), Windows-1252 as Excel saves it; British National Grid coordinates in north London."""
    rng = random.Random(seed)
    kinds = ["Library", "Depot", "Community Centre", "Car Park", "Café", "Office", "School", "Park"]

    def generate():
        for _ in range(rows):
            kind = rng.choice(kinds)
            yield [str(100000000 + rng.randint(0, 899999999)), f"{rng.choice(STREETS)} {kind}",
                   f"{rng.randint(1, 200)} {rng.choice(STREETS)}, Anytown", f"AN{rng.randint(1, 9)} {rng.randint(1, 9)}"
                   f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
                   rng.choice(["Freehold", "Leasehold", "Freehold"]), str(rng.randint(520000, 530000)),
                   str(rng.randint(188000, 196000)), kind, rng.choice(ASSET_HOLDERS)]

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="cp1252") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(LAND_HEADER)
        writer.writerows(generate())
    return path


POOLED_HEADER = ["LA Code", "Pool", "Pool Type", "Financial Year", "Contributing Body", "Agency Type", "Contribution (£)"]


def write_pooled_budgets_csv(path: Path, lads: list[tuple[str, str]], *, financial_year: str = "2021-22",
                             seed: int = 20218) -> Path:
    """Pooled budget contributions per borough: a Better Care Fund pool (council and NHS) and a children
    and young people's pool (council, NHS and police), amounts with pound signs and separators."""
    rng = random.Random(seed)
    rows = []
    for code, name in lads:
        bcf_nhs = rng.randint(8_000_000, 30_000_000)
        rows += [
            [code, f"{name} Better Care Fund", "better_care_fund", financial_year, f"{name} Council", "council",
             f"£{bcf_nhs * rng.uniform(0.3, 0.6):,.2f}"],
            [code, f"{name} Better Care Fund", "better_care_fund", financial_year, "NHS North London ICB", "nhs",
             f"£{bcf_nhs:,.2f}"],
            [code, f"{name} Children and Young People's Pool", "children_young_people", financial_year,
             f"{name} Council", "council", f"£{rng.randint(500_000, 3_000_000):,.2f}"],
            [code, f"{name} Children and Young People's Pool", "children_young_people", financial_year,
             "NHS North London ICB", "nhs", f"£{rng.randint(200_000, 1_500_000):,.2f}"],
            [code, f"{name} Children and Young People's Pool", "children_young_people", financial_year,
             "Metropolitan Police Service", "police", f"£{rng.randint(50_000, 400_000):,.2f}"],
        ]
    return _write_csv(path, POOLED_HEADER, rows, lineterminator="\r\n")
