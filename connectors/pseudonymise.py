"""Person identifiers replaced on the way in, before any byte reaches the warehouse.

A feed contract marks each person-identifying column with ``identifier``:

- ``nhs_number``: spaces and dashes removed, the Modulus 11 check digit tested, then replaced by
  a keyed hash (HMAC-SHA256). An invalid number is hashed too (so its rows still link to each
  other) and flagged ``<column>_is_valid = false`` - flagged, never dropped;
- ``person_key`` (police person ID, council client ID, housing tenant reference ...): trimmed,
  upper-cased and replaced by a keyed hash;
- ``date_of_birth``: reduced to the year of birth.

The key lives in a file outside the warehouse and the repository (``make demo`` creates one in
the state folder for local use). Without the key the hashes cannot be reversed or recomputed from
a list of NHS numbers; with the same key, the same person gets the same pseudonym in every feed,
which is what cross-agency linkage needs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from totalplace.contracts import Contract

YEAR = re.compile(r"(?<![0-9])(1[89][0-9]{2}|20[0-9]{2})(?![0-9])")
UNREADABLE_DATE = "(unreadable date of birth)"


def load_key(path: Path) -> bytes:
    """The pseudonymisation key, created (32 random bytes, owner-only) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"the pseudonymisation key in {path} is too short (at least 32 characters)")
    return key.encode()


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 - (sum mod 11) is the tenth (11 -> 0, 10 invalid)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def pseudonym(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def validity_column(name: str) -> str:
    """Landing column carrying 't'/'f' for an NHS number's check digit."""
    return f"{name}__valid"


def row_transform(contract: Contract, targets: list[str], key: bytes) -> tuple[Callable[[list[str]], list[str]], list[str]]:
    """(function rewriting one CSV record, the landing columns it appends) for the contract's identifiers.

    ``targets`` is the landing column of each cell in file order.
    """
    steps: list[Callable[[list[str]], None]] = []
    appended: list[str] = []
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
        else:  # date_of_birth -> year of birth
            def year(record: list[str], i: int = i) -> None:
                text = record[i].strip()
                found = YEAR.search(text)
                record[i] = found.group(1) if found else (UNREADABLE_DATE if text else "")
            steps.append(year)
    width = len(targets) + len(appended)

    def transform(record: list[str]) -> list[str]:
        if len(record) != len(targets):
            return record  # a ragged row: left for COPY to refuse, with its row number
        record = record + [""] * (width - len(record))
        for step in steps:
            step(record)
        return record

    return transform, appended
