"""Columns the contract's names do not match, read by what they are called *and* what they hold.

Publishers name a column their own way ("Amount Paid", "Net Amount(£)", a bare "Name" for the
supplier) and sometimes twice (an "Account Code" of codes beside an "Account Code" of descriptions).
The exact match (``connectors.header.match_header``) comes first and is never overruled; this
module is asked only when a required column is missing or a header is repeated. Each candidate
header is scored against the contract column by name - its words, loosely normalised (case,
punctuation, currency signs and units in brackets, common abbreviations), against the words of the
column's header and aliases - and by content: how many of the first data rows' values fit the
column's type (dates in its formats, money, numbers, or - for text - not bare numbers). A header
is taken only when it is the one clear best; anything else stays a problem whose report lists the
candidates with their scores. Every assignment is said in the report ("read 'Amount Paid' as
'Amount'"), so no column is read one way in silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from totalplace.contracts import DATE_FORMATS, NOISY_NUMBER_PATTERN, Column, Contract

ABBREVIATIONS = {"no": "number", "num": "number", "nr": "number", "ref": "reference", "amt": "amount",
                 "dept": "department", "desc": "description", "txn": "transaction", "trans": "transaction",
                 "inv": "invoice", "val": "value", "org": "organisation", "organization": "organisation"}
IGNORED_WORDS = {"the", "of", "a", "an", "gbp", "£", "inc", "incl", "excl", "ex"}
UNITS = re.compile(r"\((?:£|gbp|€|\$|%|£k|£000s?|£'000s?|£m)\)|[£€$]", re.IGNORECASE)
NUMBER = re.compile(NOISY_NUMBER_PATTERN)

MIN_NAME = 0.34
"""A candidate must share at least a third of a name's words ("Name" of "Supplier Name": 0.5)."""
MIN_CONTENT = 0.8
"""... and most of its values must fit the column's type."""
MARGIN = 0.15
"""... and be this much better than the next candidate, else it is ambiguous - for a column of
money, dates or numbers, where the wrong one would change the figures."""
MARGIN_TEXT = 0.05
"""For a text column (a service, a description) a clearly better name is enough ("Service label"
before "Service division label")."""


def words(text: str) -> tuple[str, ...]:
    """The words of a header, loosely: lower case, units in brackets and currency signs dropped,
    punctuation as spaces, common abbreviations spelt out ("Trans. No" -> transaction number)."""
    text = UNITS.sub(" ", text.replace("\ufeff", "").casefold())
    out = []
    for word in re.split(r"[^0-9a-z]+", text):
        word = ABBREVIATIONS.get(word, word)
        if word and word not in IGNORED_WORDS:
            out.append(word)
    return tuple(out)


def name_score(header: str, column: Column) -> float:
    """1.0 when the header's words are one of the column's names; else the share of a name's words
    the header has, discounted by the header's other words ("Amount Paid" for "Amount": 0.75)."""
    have = set(words(header))
    if not have:
        return 0.0
    best = 0.0
    for name in (column.header, column.name.replace("_", " "), *column.aliases):
        want = set(words(name))
        if not want:
            continue
        shared = len(have & want)
        if have == want:
            return 1.0
        best = max(best, shared / len(want) * (0.5 + 0.5 * shared / len(have)))
    return round(best, 2)


def content_fit(values: list[str], column: Column) -> float:
    """Share of the non-empty sample values that fit the column's type (0.5 when all are empty)."""
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        return 0.5
    if column.type == "money":
        pattern = re.compile(column.value_pattern)
        fits = sum(1 for v in values if pattern.match(v) or NUMBER.match(v))
    elif column.type == "date":
        patterns = [re.compile(DATE_FORMATS[f][0]) for f in column.formats]
        fits = sum(1 for v in values if any(p.match(v) for p in patterns))
    elif column.type in ("integer", "number"):
        fits = sum(1 for v in values if NUMBER.match(v.replace(",", "")))
    elif column.pattern:
        pattern = re.compile(column.pattern)
        fits = sum(1 for v in values if pattern.search(v))
    else:  # text: a name or a description is not a bare number
        fits = sum(1 for v in values if not NUMBER.match(v.replace(",", "")))
    return round(fits / len(values), 2)


@dataclass
class Candidate:
    position: int
    header: str
    name: float
    content: float

    @property
    def score(self) -> float:
        return round(0.6 * self.name + 0.4 * self.content, 2)

    def describe(self) -> str:
        return f"{self.header!r} (column {self.position + 1}: name {self.name:.2f}, content {self.content:.2f})"


@dataclass
class Resolution:
    assigned: dict[int, str] = field(default_factory=dict)
    """position -> contract column newly read there."""
    set_aside: dict[int, str] = field(default_factory=dict)
    """position -> why a repeated header's column is kept aside, not read."""
    notes: list[str] = field(default_factory=list)
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    """contract column still unread -> its best candidates, for the report."""


def resolve(headers: list[str], targets: list[str], contract: Contract, missing: list[str],
            duplicates: list[str], samples: dict[int, list[str]]) -> Resolution:
    """Decide what the exact match left open: ``missing`` required columns (by header) among the
    columns it left unknown, and ``duplicates`` - a repeated header whose first column was taken."""
    out = Resolution()
    by_header = {c.header: c for c in contract.header_columns}
    for header in dict.fromkeys(duplicates):
        positions = [i for i, h in enumerate(headers) if h == header]
        taken = next((i for i in positions if not targets[i].startswith("_extra_")), None)
        if taken is None:
            continue
        column = contract.column_by_name[targets[taken]]
        fits = {i: content_fit(samples.get(i, []), column) for i in positions}
        if column.type == "text":
            # a code and its description under one title: the first is the column, the others kept aside
            for i in positions:
                if i != taken:
                    out.set_aside[i] = f"a second {header!r} (column {i + 1}), kept aside: column {taken + 1} is read as {column.header!r}"
        else:
            fitting = [i for i in positions if fits[i] >= MIN_CONTENT]
            if len(fitting) == 1:
                if fitting[0] != taken:
                    out.assigned[fitting[0]] = column.name
                    out.set_aside[taken] = f"column {taken + 1} ({header!r}) kept aside: its values are not {column.type_description}"
                for i in positions:
                    if i not in (fitting[0], taken):
                        out.set_aside[i] = f"column {i + 1} ({header!r}) kept aside: its values are not {column.type_description}"
    free = [i for i, t in enumerate(targets) if t.startswith("_extra_") and i not in out.set_aside]
    for header in missing:
        column = by_header.get(header)
        if column is None:
            continue
        found = sorted((Candidate(i, headers[i], name_score(headers[i], column), content_fit(samples.get(i, []), column))
                        for i in free if i not in out.assigned), key=lambda c: -c.score)
        good = [c for c in found if c.name >= MIN_NAME and c.content >= MIN_CONTENT]
        if column.type == "text":  # any text fits a text column: the name decides
            good.sort(key=lambda c: -c.name)
            clear = len(good) == 1 or (good and good[0].name - good[1].name >= MARGIN_TEXT)
        else:
            clear = len(good) == 1 or (good and good[0].score - good[1].score >= MARGIN)
        if good and clear:
            best = good[0]
            out.assigned[best.position] = column.name
            out.notes.append(f"read {best.header!r} (column {best.position + 1}) as {column.header!r}: its name and "
                             f"values fit (name {best.name:.2f}, content {best.content:.2f})")
        else:
            out.candidates[column.name] = [c for c in found if c.name > 0][:3]
    out.notes += list(out.set_aside.values())
    return out
