"""Terminal output shared by the CLI and the demo: one console, ledger and query tables."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC

from rich.console import Console
from rich.table import Table

# piped output (make, CI logs) gets a wide console instead of rich's 80-column default
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

STATUS_STYLE = {"published": "green", "quarantined": "yellow", "duplicate": "cyan", "failed": "red"}


def print_files(entries, title: str) -> None:
    table = Table(title=title)
    for col in ("id", "agency/feed", "file", "status", "rows", "received (UTC)", "problem"):
        table.add_column(col, overflow="fold")
    for e in entries:
        style = STATUS_STYLE.get(e.status, "")
        table.add_row(str(e.file_id), f"{e.agency}/{e.feed}", e.name, f"[{style}]{e.status}[/]" if style else e.status,
                      "" if e.rows is None else f"{e.rows:,}", f"{e.received_at.astimezone(UTC):%Y-%m-%d %H:%M}",
                      (e.error or "")[:200])
    console.print(table)


def print_rows(names: list[str], rows: list, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps([dict(zip(names, r, strict=True)) for r in rows], indent=2, default=str) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
    elif fmt == "table":
        table = Table()
        for n in names:
            table.add_column(n)
        for r in rows:
            table.add_row(*["" if v is None else str(v) for v in r])
        console.print(table)
    else:
        raise ValueError(f"unknown format {fmt!r}: use table, csv or json")
