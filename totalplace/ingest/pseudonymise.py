"""Person identifiers replaced on the way in, before any byte reaches the warehouse.

A feed contract marks each person-identifying column with ``identifier``:

- ``nhs_number``: spaces and dashes removed, the Modulus 11 check digit tested, then replaced by
  a keyed hash (HMAC-SHA256). An invalid number is hashed too (so its rows still link to each
  other) and flagged ``<column>_is_valid = false`` - flagged, never dropped;
- ``person_key`` (police person ID, council client ID, housing tenant reference ...): trimmed,
  upper-cased and replaced by a keyed hash;
- ``date_of_birth``: reduced to the year of birth (age bands are derived from it downstream);
- ``postcode``: replaced by the LSOA it lies in (postcode lookup file), empty when unknown;
- ``name``: used only for the match key, then blanked - no name column exists in the warehouse.

The contract's ``match_key`` lists name, date-of-birth and postcode columns; their normalised
values (names upper-cased to letters only, the full date of birth, the postcode without spaces)
are hashed into ``match_key``, which links a person across agencies that share no ID.

The key lives in a file outside the warehouse and the repository, one per data-sharing agreement
(``agreements.yml``): without it the hashes cannot be reversed or recomputed from a list of NHS
numbers; with the same key, the same person gets the same pseudonym in every feed of that
agreement, which is what cross-agency linkage needs - and two agreements' pseudonyms do not join.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from totalplace.contracts import Contract
from totalplace.identifiers import IDENTIFIER_HEADER, nhs_number_is_valid, normal_postcode

YEAR = re.compile(r"(?<![0-9])(1[89][0-9]{2}|20[0-9]{2})(?![0-9])")
UNREADABLE_DATE = "(unreadable date of birth)"
# strptime formats of the contract's date format names (see totalplace.contracts.DATE_FORMATS)
STRPTIME = {"YYYY-MM-DD": "%Y-%m-%d", "DD/MM/YYYY": "%d/%m/%Y", "DD/MM/YY": "%d/%m/%y", "DD-Mon-YY": "%d-%b-%y",
            "DD-Mon-YYYY": "%d-%b-%Y", "DDMONYYYY": "%d%b%Y", "YYYYMMDD": "%Y%m%d"}
POSTCODE_HEADERS = ("pcds", "pcd", "pcd7", "pcd8", "postcode")
LSOA_HEADERS = ("lsoa11", "lsoa11cd", "lsoa21", "lsoa21cd", "lsoa", "lsoa_code")


def load_key(path: Path) -> bytes:
    """The pseudonymisation key, created (32 random bytes, owner-only) when the file does not exist."""
    if not path.exists():
        from totalplace.state import private_dir

        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"the pseudonymisation key in {path} is too short (at least 32 characters)")
    return key.encode()


@lru_cache(maxsize=4)
def load_postcode_lookup(path: Path) -> dict[str, str]:
    """{postcode without spaces: LSOA code} from an ONS Postcode Directory style CSV.

    The columns are found by name (``pcds``/``pcd``/``postcode`` and ``lsoa11``/``lsoa21``/``lsoa``),
    so the full ONSPD file can be pointed at as it is published.
    """
    if not path.exists():
        raise FileNotFoundError(f"postcode lookup {path} not found: a feed with a postcode identifier needs it "
                                "(TOTALPLACE_POSTCODE_LOOKUP_FILE: an ONS Postcode Directory CSV)")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        try:
            pc = next(header.index(h) for h in POSTCODE_HEADERS if h in header)
            ls = next(header.index(h) for h in LSOA_HEADERS if h in header)
        except StopIteration:
            raise ValueError(f"postcode lookup {path}: needs a postcode column ({', '.join(POSTCODE_HEADERS)}) "
                             f"and an LSOA column ({', '.join(LSOA_HEADERS)}); found {header}") from None
        return {normal_postcode(r[pc]): r[ls].strip() for r in reader if len(r) > max(pc, ls) and r[ls].strip()}


def normal_name(text: str) -> str:
    """Upper-case letters only, accents removed: "O'Brien-Smith " and "OBRIENSMITH" match."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z]", "", plain.upper())


def parse_birth_date(text: str, formats: list[str]) -> date | None:
    text = text.strip()
    for name in formats:
        fmt = STRPTIME.get(name)
        if fmt is None:
            continue
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def pseudonym(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def validity_column(name: str) -> str:
    """Landing column carrying 't'/'f' for an NHS number's check digit."""
    return f"{name}__valid"


def row_transform(contract: Contract, targets: list[str], key: bytes,
                  postcodes: dict[str, str] | None = None) -> tuple[Callable[[list[str]], list[str]], list[str]]:
    """(function rewriting one CSV record, the landing columns it appends) for the contract's identifiers.

    ``targets`` is the landing column of each cell in file order; ``postcodes`` the postcode lookup
    (needed when a column is a postcode identifier). The match key is computed first, from the
    cells as sent; then every identifier is replaced.
    """
    steps: list[Callable[[list[str]], None]] = []
    appended: list[str] = []
    columns = contract.column_by_name
    if contract.match_key:
        slot = len(targets)
        appended.append("match_key")
        parts = [(targets.index(n) if n in targets else None, columns[n]) for n in contract.match_key]

        def match(record: list[str], parts=parts, slot: int = slot) -> None:
            values = []
            for i, col in parts:
                text = record[i] if i is not None else ""
                if col.identifier == "name":
                    values.append(normal_name(text))
                elif col.identifier == "postcode":
                    values.append(normal_postcode(text))
                else:
                    born = parse_birth_date(text, col.formats)
                    values.append(born.isoformat() if born else "")
            record[slot] = pseudonym(key, "|".join(values)) if all(values) else ""
        steps.append(match)
    for col in contract.columns:
        if col.identifier is None or col.name not in targets:
            continue
        i = targets.index(col.name)
        if col.identifier == "nhs_number":
            slot = len(targets) + len(appended)
            appended.append(validity_column(col.name))

            def nhs(record: list[str], i: int = i, slot: int = slot) -> None:
                digits = re.sub(r"[\s-]", "", record[i])
                record[slot] = ("t" if nhs_number_is_valid(digits) else "f") if digits else ""
                record[i] = pseudonym(key, digits) if digits else ""
            steps.append(nhs)
        elif col.identifier == "person_key":
            def person(record: list[str], i: int = i) -> None:
                value = record[i].strip().upper()
                record[i] = pseudonym(key, value) if value else ""
            steps.append(person)
        elif col.identifier == "name":
            def blank(record: list[str], i: int = i) -> None:
                record[i] = ""
            steps.append(blank)
        elif col.identifier == "postcode":
            if postcodes is None:
                raise ValueError(f"feed {contract.key}: column {col.name} is a postcode: a postcode lookup is needed")

            def lsoa(record: list[str], i: int = i, lookup: dict[str, str] = postcodes) -> None:
                record[i] = lookup.get(normal_postcode(record[i]), "")
            steps.append(lsoa)
        else:  # date_of_birth -> year of birth
            def year(record: list[str], i: int = i, formats: list[str] = col.formats) -> None:
                text = record[i].strip()
                born = parse_birth_date(text, formats)
                found = YEAR.search(text)
                record[i] = str(born.year) if born else found.group(1) if found else (UNREADABLE_DATE if text else "")
            steps.append(year)
    width = len(targets) + len(appended)

    def transform(record: list[str]) -> list[str]:
        if len(record) != len(targets):
            # a ragged row: its cells blanked (which one is an identifier cannot be told), and one
            # more of them than COPY expects, so COPY refuses it with its row number - never lets a
            # row that happens to match the appended columns' width through as an empty one
            return [""] * (width + 1)
        record = record + [""] * (width - len(record))
        for step in steps:
            step(record)
        return record

    return transform, appended


SAMPLE_ROWS = 10_000


def undeclared_identifiers(conn, table, contract: Contract, match) -> list[tuple[str | None, str, str]]:
    """(column, header, rule) of each landed column that holds person identifiers it does not declare.

    Looked for in the first rows landed (the check must stay cheap on a 5-million-row file): a
    column where at least half of the values (and five or more) are valid NHS numbers, or - in a
    person-level feed - full postcodes; and any column whose header names an identifier (date of
    birth, NHS number, a name). Runs in the load transaction, which the rejection rolls back.
    """
    from psycopg import sql

    declared = {c.name for c in contract.columns if c.identifier}
    headers = {c.name: c.header for c in contract.header_columns if c.name in match.targets}
    headers.update(match.unknown)
    found: list[tuple[str | None, str, str]] = []
    checked = [name for name in headers if name not in declared]
    for name in checked:
        if IDENTIFIER_HEADER.search(headers[name]):
            found.append((name if name in contract.column_by_name else None, headers[name],
                          f"column {headers[name]!r} names a person identifier, but the feed contract does not "
                          "declare it one (identifier: ...); the file was not loaded and nothing of it was kept"))
    if not checked:
        return found
    person_level = bool(contract.person_identifiers)
    counts = []
    for name in checked:
        col = sql.Identifier(name)
        counts.append(sql.SQL("count(nullif(trim({c}), ''))").format(c=col))
        # the functions cost ~13 us a call: only values of the right length and characters reach them
        counts.append(sql.SQL("count(*) filter (where length({c}) between 10 and 24 and {c} !~ '[^0-9[:space:]-]' "
                              "and ops.is_nhs_number({c}))").format(c=col))
        counts.append(sql.SQL("count(*) filter (where length({c}) between 5 and 12 and ops.is_full_postcode({c}))"
                              ).format(c=col) if person_level else sql.SQL("0"))
    row = conn.execute(sql.SQL("select {} from (select * from {} limit {}) as s").format(
        sql.SQL(", ").join(counts), table.ident, sql.Literal(SAMPLE_ROWS))).fetchone()
    for i, name in enumerate(checked):
        filled, nhs, postcodes = row[3 * i: 3 * i + 3]
        for what, hits in (("valid NHS numbers", nhs), ("full postcodes", postcodes)):
            if hits >= 5 and hits * 2 >= filled:
                found.append((name if name in contract.column_by_name else None, headers[name],
                              f"column {headers[name]!r} holds {what} ({hits} of {filled} values in the first "
                              f"{SAMPLE_ROWS:,} rows), but the feed contract does not declare it a person "
                              "identifier; the file was not loaded and nothing of it was kept"))
    return found
