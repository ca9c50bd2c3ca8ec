"""What a sender gets back: a report per file, as JSON (for machines), short text (for people) and,
for a rejection, a CSV of every problem and example cell (to open in a spreadsheet).

Reports name the file, the outcome and - for a rejection - every rule broken with the column as
the sender wrote it, how many rows break it and example rows by line number (line 1 is the
header, as in a spreadsheet). They are written to the agency's ``outbox/<feed>/``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

REPORT_VERSION = 1


@dataclass
class Problem:
    """One rule broken by a file, in the sender's terms."""

    check: str
    rule: str
    column: str | None = None
    header: str | None = None
    rows_failing: int | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "column": self.header or self.column,
            "contract_column": self.column,
            "rule": self.rule,
            "rows_failing": self.rows_failing,
            "examples": self.examples,
        }


def withhold_values(problems: list[Problem], *, person_level: bool) -> list[Problem]:
    """Examples that name row and column without the sender's value: every value of a person-level
    feed (its cells may be anything a person typed about someone), and in any feed a value that looks
    like an NHS number or a full postcode. Reports are kept in the ledger, which others read."""
    from totalplace.identifiers import identifier_kind

    for problem in problems:
        for example in problem.examples:
            value = example.get("value")
            if value is None or value == "":
                continue
            kind = None if person_level else identifier_kind(str(value))
            if person_level or kind:
                example["value"] = None
                example["withheld"] = "person-level feed" if person_level else f"looks like {kind}"
    return problems


class Rejected(Exception):
    """A file cannot be accepted; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.rule for p in problems))
        self.problems = problems


def summarise(problems: list[dict[str, Any]]) -> str:
    """One line for the ledger's ``error`` column."""
    parts = []
    for p in problems:
        where = f"{p['column']!r} " if p.get("column") else ""
        count = f" ({p['rows_failing']} rows)" if p.get("rows_failing") else ""
        parts.append(f"{where}{p['rule']}{count}")
    return "; ".join(parts)


def build_report(
    *,
    outcome: str,
    agency: str,
    feed: str,
    name: str,
    file_id: int | None,
    sha256: str | None,
    rows: int | None,
    problems: list[Problem] | None = None,
    suite: str | None = None,
    note: str | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "outcome": outcome,
        "agency": agency,
        "feed": feed,
        "file": name,
        "file_id": file_id,
        "sha256": sha256,
        "rows": rows,
        "suite": suite,
        "note": note,
        "warnings": warnings or [],
        "problems": [p.as_dict() for p in problems or []],
    }


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def where(example: dict[str, Any]) -> str:
    """Where an example is, as the sender finds it: ``sheet 'Payments' row 12`` in a workbook, else ``line 12``."""
    if example.get("sheet") is not None:
        return f"sheet {example['sheet']!r} row {example['sheet_row']}"
    return f"line {example.get('line')}"


def render_text(report: dict[str, Any]) -> str:
    """The readable version of a report, for the outbox and the terminal."""
    head = f"{report['file']} ({report['agency']}/{report['feed']})"
    ident = f"file {report['file_id']}" if report.get("file_id") is not None else "pre-flight check"
    lines: list[str] = []
    outcome = report["outcome"]
    if outcome == "published":
        lines.append(f"ACCEPTED: {head} - {report['rows']} rows published as {ident}.")
        for column, total in (report.get("control_totals") or {}).items():
            lines.append(f"Total of {column}: £{float(total):,.2f}")
    elif outcome == "duplicate":
        lines.append(f"DUPLICATE: {head} - {report.get('note') or 'same content as a file already received'}.")
        lines.append("Nothing was loaded again. To correct data, send a file with the corrected content.")
    elif outcome == "passed":
        lines.append(f"PASSED: {head} - {report['rows']} rows meet every rule of the feed contract.")
    else:
        verb = "QUARANTINED" if outcome == "quarantined" else "FAILED CHECKS"
        rows = f", {report['rows']} data rows" if report.get("rows") is not None else ""
        lines.append(f"{verb}: {head}{rows} - nothing from this file was loaded ({ident}).")
        lines.append("Fix every problem below and send the whole file again:")
        for i, p in enumerate(report["problems"], start=1):
            column = f"Column {p['column']!r}: " if p.get("column") else ""
            count = f"{p['rows_failing']} row(s) " if p.get("rows_failing") else ""
            lines.append(f"  {i}. {column}{count}{p['rule']}")
            if p.get("examples"):
                shown = "; ".join(where(e) + ("" if e.get("withheld") else f": {_show(e.get('value'))}")
                                  for e in p["examples"][:5])
                withheld = {e["withheld"] for e in p["examples"] if e.get("withheld")}
                lines.append(f"     e.g. {shown}" + (f" (values withheld: {', '.join(sorted(withheld))})"
                                                       if withheld else ""))
    for w in report.get("warnings") or []:
        lines.append(f"Note: {w}")
    if report.get("sha256"):
        lines.append(f"sha256 {report['sha256']}")
    return "\n".join(lines) + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")


def spreadsheet_safe(value: Any) -> str:
    """A cell a spreadsheet will show as text, never run: a leading ``= + - @``, tab, CR or NUL is
    escaped with ``'`` (OWASP CSV injection). The sender's own cells come back in reports, and a
    hostile one (``=HYPERLINK(...)``) must not become a live formula on someone's desktop."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def render_csv(report: dict[str, Any]) -> str | None:
    """The problems of a rejected file, one row per example cell (None when nothing was rejected)."""
    if not report.get("problems"):
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    sheets = any(e.get("sheet") is not None for p in report["problems"] for e in p.get("examples") or [])
    writer.writerow(["problem", "column", "rule", "rows failing", "line", *(["sheet", "sheet row"] if sheets else []),
                     "value"])
    for i, p in enumerate(report["problems"], start=1):
        examples = p.get("examples") or [{}]
        for e in examples:
            value = f"(withheld: {e['withheld']})" if e.get("withheld") else e.get("value")
            located = [e.get("sheet"), e.get("sheet_row")] if sheets else []
            writer.writerow([spreadsheet_safe(v) for v in (i, p.get("column"), p["rule"], p.get("rows_failing"),
                                                            e.get("line"), *located, value)])
    return out.getvalue()
