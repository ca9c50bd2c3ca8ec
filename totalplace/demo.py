"""``make demo``: the whole platform end to end on the sample police extract.

Starts the services, drops the real data.police.uk sample (City of London, January 2020) and a
damaged copy of it as the ``police`` partner, runs the pipeline through the Airflow DAGs and
prints what was built. Run it twice: the second time both files are recognised as duplicates
and nothing is loaded again.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from connectors.sftp import open_account
from totalplace import pipeline, services
from totalplace.output import print_files
from totalplace.settings import PROJECT_ROOT, Settings
from totalplace.warehouse import connect

SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "police" / "2020-01-city-of-london-street.csv"
COUNCIL_SAMPLES = sorted((PROJECT_ROOT / "tests" / "fixtures" / "council").glob("*.csv"))
"""Real spend-over-£500 files of Devon (2011 and 2025 layouts) and Oxford (2014, one with its dates lost)."""


def damaged_copy(source: Path, target: Path) -> Path:
    """The sample with a month that does not exist and a crime type that is not published."""
    lines = source.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b",2020-01,", b",2020-13,", 1)
    theft = next(i for i, line in enumerate(lines) if i > 3 and b",Other theft," in line)
    lines[theft] = lines[theft].replace(b",Other theft,", b",Theft (other),", 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\r\n".join(lines))
    return target


def run_demo(settings: Settings, console: Console) -> None:
    with console.status("Starting the warehouse and the SFTP server..."):
        url = services.up(settings)
    console.print(f"[bold]1. Services[/]  warehouse {url}\n   sftp accounts police, nhs, housing, council "
                  f"(passwords in {settings.credentials_file})")

    damaged = damaged_copy(SAMPLE, settings.state_dir / "demo" / "2020-01-city-of-london-street-DAMAGED.csv")
    drops = [("police", "street_crime", p) for p in (SAMPLE, damaged)] + [
        ("council", "spend_over_500", p) for p in COUNCIL_SAMPLES]
    for agency in ("police", "council"):
        with open_account(settings, agency) as account:
            for _, feed, path in [d for d in drops if d[0] == agency]:
                remote = account.upload(path, feed)
                console.print(f"[bold]2. Drop[/]  {agency} uploaded {path.name} -> {remote}")

    with console.status("Running ingest and transform DAGs (Airflow dag.test)..."):
        summary = pipeline.run_all(settings)
    print_files(summary.files, title="3. What became of each file")
    for r in summary.dag_results:
        console.print(f"   dag {r.dag_id}: {r.state}")
    if not summary.ok:
        raise RuntimeError(f"a DAG run failed; see {summary.log_file}")

    for agency, feed in (("police", "street_crime"), ("council", "spend_over_500")):
        with open_account(settings, agency) as account:
            reports = [n for n in account.listdir(f"outbox/{feed}") if n.endswith(".quarantined.txt")]
            if reports:
                text = account.read_bytes(f"outbox/{feed}/{reports[-1]}").decode()
                console.print(f"[bold]4. Report in the {agency} outbox[/] (outbox/{feed}/{reports[-1]}):")
                console.print(text.rstrip(), markup=False)

    with connect(url) as conn:
        raw_rows = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
        files = conn.execute(
            "select count(*) from ops.file_ledger where agency = 'police' and status = 'published'").fetchone()[0]
        cur = conn.execute(
            "select lad_name, month_start, crime_type, crimes, population, crimes_per_1000 "
            "from marts.mart_crimes_by_lad_month order by crimes desc, lad_name, crime_type limit 10"
        )
        names = [d.name for d in cur.description]
        top = cur.fetchall()
        mart_rows = conn.execute("select count(*) from marts.mart_crimes_by_lad_month").fetchone()[0]
        per_feed = conn.execute(
            "select agency || '/' || feed, count(*) filter (where status = 'published'), "
            "count(*) filter (where status = 'quarantined'), coalesce(sum(rows) filter (where status = 'published'), 0) "
            "from ops.file_ledger group by 1 order by 1").fetchall()
    feeds = Table(title="5. Published rows per feed")
    for col in ("feed", "files published", "files quarantined", "rows in raw"):
        feeds.add_column(col)
    for row in per_feed:
        feeds.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(feeds)
    table = Table(title="6. marts.mart_crimes_by_lad_month (top 10 by crimes)")
    for n in names:
        table.add_column(n)
    for row in top:
        table.add_row(*[str(v) for v in row])
    console.print(table)
    console.print(
        f"[green]demo:[/] raw.police__street_crime holds {raw_rows:,} rows from {files} published file(s); "
        f"the mart has {mart_rows} rows; this run: {summary.count('published')} published, "
        f"{summary.count('quarantined')} quarantined, {summary.count('duplicate')} duplicate. "
        "Query it with `totalplace sql`."
    )
