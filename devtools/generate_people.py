"""A synthetic population and the person-level extracts each agency would send about it.

No public person-level data exists (rightly), so the cohort feeds are generated: one population
of residents of real LSOAs, with names, dates of birth, synthetic postcodes and NHS numbers, of
whom some offend, some are children in care, some approach the council as homeless and many use
A&E or hospital - the same people across agencies, the way the pilots found them. Each agency's
extract carries only what that agency would hold (the police have no NHS number; the council's
children's social care does), so linking needs the NHS number where it exists and the name +
date of birth + postcode match key where it does not.

Postcodes are synthetic: they start with Q, which no real UK postcode does, yet match the full
postcode pattern. ``reference/postcode_lsoa_demo.csv`` maps them to the real LSOAs they were
placed in (written by :func:`write_postcode_lookup`; the platform reads any ONSPD-shaped file).
Everything is deterministic per seed.
"""

from __future__ import annotations

import csv
import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from devtools.generate_data import _write_csv, nhs_number

FORENAMES = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Mohammed", "Mia", "Noah", "Olivia", "Jack",
             "Emily", "Leo", "Sophia", "Arthur", "Grace", "Muhammad", "Lily", "Oscar", "Freya", "Chloé", "Zoë",
             "Seán", "Aaliyah", "Kwame", "Priya", "Tomasz", "Ngozi", "Ioana", "Dylan"]
SURNAMES = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
            "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
            "O'Brien", "Smith-Jones", "Okafor", "Patel", "Kowalski", "Nguyen", "Ahmed", "Khan", "Murphy", "Ali"]
OFFENCE_TYPES = ["Violence with injury", "Violence without injury", "Robbery", "Domestic burglary", "Theft of vehicle",
                 "Theft from vehicle", "Theft from the person", "Criminal damage", "Shoplifting", "Drug offences"]
PLACEMENTS = [("Foster care", 450, 950), ("Kinship care", 250, 500), ("Residential children's home", 3500, 7000),
              ("Semi-independent living", 900, 2200)]
COHORT_LADS = ("E09000001", "E09000003", "E09000007", "E09000014")
"""City of London (few residents: its cohort counts are suppressed), Barnet, Camden and Haringey."""


@dataclass(frozen=True)
class Person:
    forename: str
    surname: str
    born: date
    postcode: str
    lsoa: str
    nhs: str


def lsoas_of(lookup_csv: Path, lads: tuple[str, ...] = COHORT_LADS) -> list[str]:
    with lookup_csv.open(newline="", encoding="utf-8") as fh:
        return sorted({r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD19CD"] in lads})


def postcodes_for(lsoas: list[str], per_lsoa: int = 4, seed: int = 5150) -> list[tuple[str, str]]:
    """(postcode, LSOA): ``per_lsoa`` synthetic postcodes in each LSOA (Q-prefixed, never real)."""
    rng = random.Random(seed)
    out, seen = [], set()
    for lsoa in lsoas:
        while sum(1 for _, placed in out if placed == lsoa) < per_lsoa:
            code = (f"Q{rng.choice('ABCDEFGHJKLMNPRSTUWY')}{rng.randint(1, 99)} "
                    f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}")
            if code not in seen:
                seen.add(code)
                out.append((code, lsoa))
    return out


def write_postcode_lookup(path: Path, lookup_csv: Path) -> Path:
    """The demo's postcode -> LSOA lookup, in the ONS Postcode Directory's column names."""
    return _write_csv(path, ["pcds", "lsoa11"], postcodes_for(lsoas_of(lookup_csv)), lineterminator="\n")


def read_postcodes(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["pcds"], r["lsoa11"]) for r in csv.DictReader(fh)]


def population(postcodes: list[tuple[str, str]], people: int, *, seed: int = 5151) -> list[Person]:
    """Residents spread over the postcodes, ages 0-90; City of London's LSOAs get few (as in life)."""
    rng = random.Random(seed)
    weights = [0.05 if lsoa.startswith("E01000") and lsoa < "E01000012" else 1.0 for _, lsoa in postcodes]
    out = []
    for _ in range(people):
        postcode, lsoa = rng.choices(postcodes, weights)[0]
        born = date(2021, 9, 30) - timedelta(days=rng.randint(0, 90 * 365))
        out.append(Person(rng.choice(FORENAMES), rng.choice(SURNAMES), born, postcode, lsoa, nhs_number(rng)))
    return out


def age_on(person: Person, day: date) -> int:
    return day.year - person.born.year - ((day.month, day.day) < (person.born.month, person.born.day))


def _messy_name(rng: random.Random, name: str) -> str:
    """How names arrive from different systems: upper case, extra spaces, accents dropped."""
    choice = rng.random()
    if choice < 0.2:
        return name.upper()
    if choice < 0.3:
        return f" {name} "
    return name


def _day_in_year(rng: random.Random) -> date:
    return date(2021, 4, 1) + timedelta(days=rng.randint(0, 364))


OFFENCES_HEADER = ["Crime Reference", "Offender ID", "Forename", "Surname", "Date of Birth", "Home Postcode",
                   "Offence Date", "Offence Type", "Offence LSOA", "Outcome"]


def write_offences_csv(path: Path, people: list[Person], *, offenders: int = 900, seed: int = 5152) -> Path:
    """Offences with an identified offender, 2021-22: a few prolific offenders commit a large share.

    Offence counts per offender follow a heavy-tailed (Pareto) distribution, as in the pilots'
    finding that about 2% of offenders account for about 30% of crime.
    """
    rng = random.Random(seed)
    adults = [p for p in people if 14 <= age_on(p, date(2021, 4, 1)) <= 70]
    chosen = rng.sample(adults, min(offenders, len(adults)))
    rows, n = [], 0
    for i, person in enumerate(chosen):
        count = min(60, int(rng.paretovariate(1.3)))
        for _ in range(count):
            n += 1
            rows.append([f"CR/{21000000 + n}", f"PNC{700000 + i:07d}", _messy_name(rng, person.forename),
                         _messy_name(rng, person.surname), person.born.strftime("%d/%m/%Y"), person.postcode,
                         _day_in_year(rng).strftime("%d/%m/%Y"), rng.choice(OFFENCE_TYPES),
                         person.lsoa if rng.random() < 0.6 else rng.choice(people).lsoa,
                         rng.choice(["Charged", "Caution", "Under investigation", "No further action"])])
    rng.shuffle(rows)
    return _write_csv(path, OFFENCES_HEADER, rows, lineterminator="\r\n")


CHILDREN_IN_CARE_HEADER = ["Child ID", "NHS Number", "Forename", "Surname", "Date of Birth", "Postcode",
                           "Legal Status", "Placement Type", "Period Start", "Period End", "Weekly Cost"]


def write_children_in_care_csv(path: Path, people: list[Person], *, rate: float = 0.05, seed: int = 5153) -> Path:
    """Episodes of care in 2021-22 of children (under 18) - roughly ``rate`` of the children listed (the demo's
    population is a sample of the boroughs' residents, so the rate is higher than the real 0.7%)."""
    rng = random.Random(seed)
    children = [p for p in people if age_on(p, date(2021, 4, 1)) < 18]
    rows = []
    for i, child in enumerate(c for c in children if rng.random() < rate):
        start = _day_in_year(rng) if rng.random() < 0.4 else date(2021, 4, 1) - timedelta(days=rng.randint(30, 900))
        end = max(start, date(2021, 4, 1)) + timedelta(days=rng.randint(20, 500))  # in care during 2021-22
        placement, low, high = rng.choice(PLACEMENTS)
        rows.append([f"LAC{31000 + i}", child.nhs if rng.random() < 0.9 else "", child.forename, child.surname,
                     child.born.isoformat(), child.postcode.replace(" ", "") if rng.random() < 0.3 else child.postcode,
                     rng.choice(["C2 (full care order)", "V2 (accommodated, s20)", "E1 (placement order)"]), placement,
                     start.isoformat(), end.isoformat() if end < date(2022, 3, 31) else "", f"{rng.randint(low, high)}.00"])
    return _write_csv(path, CHILDREN_IN_CARE_HEADER, rows, lineterminator="\n")


HOMELESSNESS_CASES_HEADER = ["Case Reference", "Applicant Ref", "Forename", "Surname", "DOB", "Last Settled Postcode",
                             "Approach Date", "Duty", "Temporary Accommodation Nights", "Cost"]


def write_homelessness_cases_csv(path: Path, people: list[Person], *, offences_csv: Path | None = None,
                                 cases: int = 500, seed: int = 5154) -> Path:
    """Homelessness approaches in 2021-22; offenders are over-represented (as the pilots found)."""
    rng = random.Random(seed)
    adults = [p for p in people if age_on(p, date(2021, 4, 1)) >= 17]
    prone: list[Person] = []
    if offences_csv is not None:
        with offences_csv.open(newline="", encoding="utf-8") as fh:
            known = {(r["Date of Birth"], r["Home Postcode"]) for r in csv.DictReader(fh)}
        prone = [p for p in adults if (p.born.strftime("%d/%m/%Y"), p.postcode) in known]
    rows = []
    for i in range(cases):
        person = rng.choice(prone) if prone and rng.random() < 0.3 else rng.choice(adults)
        nights = rng.choice([0, 0, 0, 7, 28, 56, 120, 240])
        rows.append([f"H-{2100000 + i}", f"APP{rng.randint(10000, 99999)}{string.ascii_uppercase[i % 26]}",
                     person.forename, person.surname, person.born.strftime("%d-%b-%Y"), person.postcode,
                     _day_in_year(rng).strftime("%d/%m/%Y"), rng.choice(["Prevention", "Relief", "Main duty"]), nights,
                     f"{nights * rng.randint(40, 95) + 350}.00"])
    return _write_csv(path, HOMELESSNESS_CASES_HEADER, rows, lineterminator="\r\n")
