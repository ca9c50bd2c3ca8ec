"""What a person identifier looks like: an NHS number (with its check digit), a full postcode, a header
that names one. Used wherever a value or a name must not be repeated - reports, file names, contracts -
and by ``ingest.pseudonymise``, which replaces identifiers on the way in.
"""

from __future__ import annotations

import re

FULL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")

# Headers that name a person identifier whatever the values look like.
IDENTIFIER_HEADER = re.compile(r"\b(date of birth|d\.?o\.?b|birth ?date|nhs ?(number|no)|forename|surname|"
                               r"first ?name|last ?name|full ?name|home ?post ?code)\b", re.IGNORECASE)


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 - (sum mod 11) is the tenth (11 -> 0, 10 invalid)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def identifier_kind(text: str) -> str | None:
    """What person identifier a single value looks like ("an NHS number", "a full postcode"), or None -
    so a report can say where one was without repeating it."""
    value = text.strip()
    digits = re.sub(r"[\s-]", "", value)
    if re.fullmatch(r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}", value) and nhs_number_is_valid(digits):
        return "an NHS number"
    if len(value) <= 9 and FULL_POSTCODE.match(normal_postcode(value)):
        return "a full postcode"
    return None


def normal_postcode(text: str) -> str:
    return re.sub(r"\s", "", text).upper()
