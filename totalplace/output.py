"""Terminal output shared by the CLI and the demo: one console, ledger and query tables."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
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
        from totalplace.reports import spreadsheet_safe

        buf = io.StringIO()
        # CRLF rows: the writer then quotes a value holding a bare CR too, which spreadsheets read as a line
        # break - unquoted, "name\r=1+1" became a row starting with a live formula
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([spreadsheet_safe(n) for n in names])
        # text that a spreadsheet would run (=HYPERLINK(...), +cmd, @SUM) is escaped; numbers stay numbers
        writer.writerows([spreadsheet_safe(v) if isinstance(v, str) else v for v in r] for r in rows)
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


def print_rejections(entries) -> None:
    """Under a partner's ledger: why each rejected file was rejected - column, rule, rows and the
    first lines (values stay in the full report in the partner's SFTP outbox)."""
    rejected = [e for e in entries if e.status in ("quarantined", "failed")]
    for e in rejected:
        console.print(f"[yellow]{e.status}[/] #{e.file_id} {e.name} ({e.agency}/{e.feed}):")
        problems = (e.report or {}).get("problems") or []
        if not problems:
            console.print(f"   {e.error or 'no report'}", markup=False)
        for p in problems[:10]:
            lines = [str(x["line"]) for x in p.get("examples") or [] if x.get("line")]
            where = f"column {p.get('header') or p.get('column')}: " if (p.get("header") or p.get("column")) else ""
            rows = f" - {p['rows_failing']:,} row(s)" if p.get("rows_failing") else ""
            first = f", first on line(s) {', '.join(lines[:5])}" if lines else ""
            console.print(f"   {where}{p.get('rule')}{rows}{first}", markup=False)
        if len(problems) > 10:
            console.print(f"   ... and {len(problems) - 10} more problems")
    if rejected:
        console.print("   the full reports, with the values, are in the SFTP outbox (outbox/<feed>/); fix the file and "
                      "upload it again.", markup=False)


@contextlib.contextmanager
def dag_progress(description: str):
    """A progress bar over a pipeline run's DAGs, yielding the ``progress`` callback of ``run_all``.

    The run sends Airflow's and dbt's output to a log file by redirecting the process's stdout, so
    the bar draws on a duplicate of the terminal taken before that (else it would land in the log).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    terminal = Console(file=stream, highlight=False, width=console.width)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[dag]}"),
                   TimeElapsedColumn(), console=terminal, transient=True)
    task = bar.add_task(description, total=None, dag="")

    def update(dag_id: str, done: int, total: int) -> None:
        bar.update(task, completed=done, total=total, dag="" if dag_id == "done" else dag_id)

    try:
        with bar:
            yield update
    finally:
        stream.close()
