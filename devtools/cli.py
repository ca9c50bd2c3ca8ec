"""``python -m devtools demo|bench``: the demo and the benchmark (``make demo``, ``make bench``).

Development tools, not the platform: they generate data, drive the platform's own commands and time
them, and the platform never imports them. The output and errors look like the ``totalplace`` CLI's.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from devtools import bench as benchmod
from devtools import demo as demomod
from totalplace.cli import guarded, settings
from totalplace.output import console

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n")[0])


@app.command()
@guarded
def bench(
    rows: Annotated[int, typer.Option(help="Base size: police files of rows/4, rows, 5 x rows and ~2 GB.")] = 1_000_000,
    national_scale: Annotated[float, typer.Option(help="Size of the national month (1: 43 police forces, 300 "
                                                       "councils, 40 NHS bodies; 0.1: a tenth).")] = 1.0,
    only_scheduled: Annotated[bool, typer.Option(help="Only the figures under the scheduler (latency, national "
                                                       "month).")] = False,
) -> None:
    """Measure loads, the gate, dbt builds, Airflow and memory against their baselines (see README)."""
    s = settings()
    say = lambda msg: console.print(f"[dim]{msg}[/]")  # noqa: E731
    results = (benchmod.run_scheduled_bench(s, national_scale=national_scale, progress=say) if only_scheduled
               else benchmod.run_bench(s, rows=rows, progress=say, national_scale=national_scale))
    table = Table(title=f"Benchmark (base {rows:,} rows)")
    for col in ("figure", "value", "baseline", "ratio", "target", "pass"):
        table.add_column(col)
    for r in results:
        unit = r["unit"]
        target = r["target"]
        table.add_row(r["figure"], f"{r['value']:,.2f} {unit}", f"{r['baseline']:,.2f} {unit}" if r["baseline"] else "-",
                      f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-",
                      (f"<= {target}x" if r["baseline"] else f"<= {target} {unit}") if target is not None else "-",
                      {True: "[green]pass[/]", False: "[red]fail[/]", None: "-"}[r["pass"]])
    console.print(table)
    failed = sum(1 for r in results if r["pass"] is False)
    console.print(f"[green]bench:[/] {len(results)} figures, {failed} outside their target; "
                  f"results written to {benchmod.results_path(s)}.")


@app.command()
@guarded
def demo() -> None:
    """Set up, drop the sample police extracts (one good, one damaged), run the pipeline, show the results."""
    demomod.run_demo(settings(), console)
