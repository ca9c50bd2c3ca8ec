"""Deterministic generators of realistic extracts, for the benchmark and tests.

Same seed, same bytes: a benchmark figure or a test failure can be reproduced exactly.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

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
