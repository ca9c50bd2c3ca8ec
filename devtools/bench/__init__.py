"""``make bench``: the platform's figures beside their baselines, measured in one run.

Everything runs against the same PostgreSQL, in a database of its own (``totalplace_bench``), so
ratios are what count, not seconds. The files are generated deterministically from ``rows`` (the
base size; 1,000,000 by default): police street crime at rows/4, rows and 5 x rows (the growth
series) and about 2 GB (loader memory), council spend in cp1252 at rows, a social-lettings
workbook at rows/5, a pandas peer on rows/10 extrapolated to rows. Then dbt: a full build of the
warehouse holding every police row loaded, an incremental one after a new month (of what the
transform selects: everything downstream of the changed feed); the same full build through
Airflow, then a partial one after another month; the parse time of every DAG file; then, under a real
scheduler with two Celery workers (``scheduled.py``), a small file's drop -> published and -> site, and a
national month of files dropped at once (``national.py``). Results go to ``<state>/bench.json`` as ``{figure, value, unit, baseline, ratio, target, pass}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from totalplace.settings import Settings

LOAD_TARGET = 1.3
INCREMENTAL_TARGET = 0.10
PARSE_TARGET = 0.5
AIRFLOW_TARGET = 1.2
MEMORY_TARGET_MB = 300
POLICE_COLUMNS = 12


def results_path(settings: Settings) -> Path:
    return settings.state_dir / "bench.json"


def figure(name: str, value: float, unit: str = "s", *, baseline: float | None = None,
           target: float | None = None) -> dict:
    """One result row; ``ratio`` = value / baseline, and ``pass`` = ratio (or value, without a baseline) <= target."""
    ratio = value / baseline if baseline else None
    measured = ratio if ratio is not None else value
    passed = None if target is None else measured <= target
    return {"figure": name, "value": round(value, 3), "unit": unit, "baseline": round(baseline, 3) if baseline else None,
            "ratio": round(ratio, 3) if ratio is not None else None, "target": target, "pass": passed}


class _Results(list):
    """The figures so far, written to bench.json as each arrives: a step that fails later keeps them."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def append(self, row: dict) -> None:
        super().append(row)
        self.path.write_text(json.dumps(list(self), indent=2))


def _attempt(results: _Results, name: str, step: Callable[[], list[dict]]) -> None:
    """Run one measurement; if it fails, the failure is a figure (pass: false) and the run goes on.

    The whole error (with the child process's output) goes to ``bench-errors.log`` beside bench.json,
    named in the figure: a first line alone rarely says why a DAG run failed.
    """
    try:
        for row in step():
            results.append(row)
    except Exception as exc:  # noqa: BLE001 - reported as a failed figure, not hidden
        import traceback

        log = results.path.with_name("bench-errors.log")
        with log.open("a") as fh:
            fh.write(f"== {name}\n{''.join(traceback.format_exception(exc))}\n")
        first = next((x for x in str(exc).splitlines() if x.strip()), repr(exc))
        row = figure(f"{name}: FAILED - {first[:160]} (whole error in {log})", 0.0)
        row["pass"] = False
        results.append(row)


def new_month_selection(settings: Settings, url: str, load: Callable[[], object]) -> list[str]:
    """The dbt selectors the transform would build after ``load()`` publishes a file: everything
    downstream of the feeds whose published files changed (totalplace.build_selection)."""
    from totalplace.build_selection import changed_feeds, downstream_of, published_files
    from totalplace.dbt_sources import source_selector
    from totalplace.warehouse import connect

    with connect(url) as conn:
        before = published_files(conn)
    load()
    with connect(url) as conn:
        feeds = changed_feeds(conn, before, published_files(conn))
    return downstream_of([source_selector(agency, feed) for agency, feed in feeds])


def run_bench(settings: Settings, *, rows: int = 1_000_000, progress: Callable[[str], None] = lambda _: None,
              light: bool = False, national_scale: float = 1.0) -> list[dict]:
    """Every figure (``light``: without the 2 GB file and the Airflow runs - for the smoke test).
    ``national_scale`` sizes the national month (1: 43 forces, 300 councils, 40 NHS bodies)."""
    from devtools.bench import build, data, loads
    from totalplace import services
    from totalplace.reference import load_reference
    from totalplace.warehouse import connect

    admin_url = services.up(settings)
    bench = loads.bench_settings(settings, admin_url)
    url = bench.warehouse_url
    progress(f"benchmark database {loads.BENCH_DATABASE}: schemas, roles and reference data ...")
    services.prepare_warehouse(bench, url)
    services.ensure_manifest(bench, url)
    load_reference(bench)
    folder = settings.state_dir / "bench" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"generating the police base file ({min(rows, 1_000_000):,} rows; kept for the next run) ...")
    base = data.police_base(folder, min(rows, 1_000_000))
    results = _Results(results_path(settings))
    results.path.with_name("bench-errors.log").unlink(missing_ok=True)

    def police(n: int, month: str, label: str, *, target: float | None = None, unlogged: bool = False) -> dict:
        path = data.police_month(folder, base, n, month)
        mb = path.stat().st_size / 2**20
        progress(f"police {label}: bare COPY, then the platform ({n:,} rows, {mb:,.0f} MB) ...")
        bare = loads.bare_copy(url, path, POLICE_COLUMNS)
        if unlogged:
            results.append(figure(f"bare COPY into an unlogged table, police {n:,} rows (for reference)",
                                  loads.bare_copy(url, path, POLICE_COLUMNS, logged=False), baseline=bare))
        load = loads.platform_load(bench, "police/street_crime", path)
        results.append(figure(f"load + gate + publish, police {n:,} rows ({mb:,.0f} MB) / bare COPY", load.seconds,
                              baseline=bare, target=target))
        for step, seconds in load.steps.items():
            if seconds >= 0.05:
                results.append(figure(f"  of which {step}", seconds, baseline=bare))
        results.append(figure(f"  loader peak memory, police {n:,} rows", load.peak_rss_mb, "MB",
                              target=MEMORY_TARGET_MB))
        return {"load": load, "bare": bare, "rows": n, "bytes": path.stat().st_size}

    series = [police(rows // 4, "2020-02", "growth"), police(rows, "2020-03", "1x", target=LOAD_TARGET, unlogged=True),
              police(rows * 5, "2020-04", "5x", target=LOAD_TARGET)]
    five = series[-1]
    gate = five["load"].steps.get("gate (GX)", 0.0)
    partition = f"raw.police__street_crime__f{five['load'].file_id}"
    results.append(figure(f"GX gate on {five['rows']:,} rows (SQL pushdown) / one count(*) of the published table",
                          gate, baseline=loads.count_scan(url, partition)))
    if not light:
        big_rows = data.rows_for_bytes(base, int(2 * 2**30 * rows / 1_000_000))
        series.append(police(big_rows, "2020-05", "2 GB"))
    per_million = [s["load"].seconds / s["rows"] * 1e6 for s in series]
    results.append(figure(f"growth: seconds per million rows at {series[0]['rows']:,} .. {series[-1]['rows']:,} rows, "
                          "largest / smallest", max(per_million), "s/M", baseline=min(per_million)))
    peaks = [s["load"].peak_rss_mb for s in series]
    results.append(figure(f"loader peak memory, {series[-1]['bytes'] / 2**30:.1f} GB file / {series[0]['rows']:,}-row "
                          "file (flat = 1)", peaks[-1], "MB", baseline=peaks[0], target=1.25))

    spend = data.council_spend_cp1252(folder, rows)
    progress(f"council spend, cp1252 with quoted thousands ({rows:,} rows) ...")
    bare = loads.bare_copy(url, spend, len(data.SPEND_HEADER), encoding="WIN1252")
    load = loads.platform_load(bench, "council/spend_over_500", spend)
    results.append(figure(f"load + gate + publish, council spend cp1252 {rows:,} rows / bare COPY", load.seconds,
                          baseline=bare))
    results.append(figure(f"  loader peak memory, council spend {rows:,} rows", load.peak_rss_mb, "MB",
                          target=MEMORY_TARGET_MB))

    xlsx_rows = max(rows // 5, 100)
    progress(f"social lettings workbook ({xlsx_rows:,} rows) ...")
    workbook, sheet_csv = data.lettings_xlsx(folder, xlsx_rows)
    bare = loads.bare_copy(url, sheet_csv, 9, skip_lines=1)
    load = loads.platform_load(bench, "housing/social_lettings", workbook)
    results.append(figure(f"load + gate + publish, XLSX {xlsx_rows:,} rows / bare COPY of the sheet as CSV",
                          load.seconds, baseline=bare))
    results.append(figure(f"  loader peak memory, XLSX {xlsx_rows:,} rows", load.peak_rss_mb, "MB",
                          target=MEMORY_TARGET_MB))
    results.append(figure(f"  workbook reader's peak memory, XLSX {xlsx_rows:,} rows (its own process, "
                          "limited to 4 GiB; calamine reads the sheet whole)", load.children_peak_rss_mb, "MB"))

    peer_rows = max(rows // 10, 100)
    progress(f"pandas read_csv + to_sql on {peer_rows:,} rows ...")
    peer = loads.pandas_peer(url, data.police_month(folder, base, rows, "2020-03"), peer_rows)
    results.append(figure(f"pandas read_csv + to_sql, {peer_rows:,} rows extrapolated to {rows:,} / the platform",
                          peer * rows / peer_rows, baseline=series[1]["load"].seconds))

    with connect(url) as conn:
        facts = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
    progress(f"dbt: full build with {facts:,} police rows ...")
    full = build.dbt_build(bench, url, full_refresh=True)
    results.append(figure(f"dbt build, full ({facts:,} police rows)", full))
    month = data.police_month(folder, base, max(rows // 10, 100), "2020-06")
    selectors = new_month_selection(bench, url, lambda: loads.platform_load(bench, "police/street_crime", month))
    progress(f"dbt: incremental build after one new month ({' '.join(selectors)}) ...")
    incremental = build.dbt_build(bench, url, select=selectors)
    results.append(figure(f"dbt build, incremental after a new month of {max(rows // 10, 100):,} rows "
                          f"(what the transform selects: {' '.join(selectors)}) / full",
                          incremental, baseline=full, target=INCREMENTAL_TARGET))

    progress("parse time of every DAG file ...")
    for name, (seconds, dags) in build.dag_parse_seconds(bench).items():
        results.append(figure(f"DAG file parse, {name} ({dags} DAGs)", seconds, target=PARSE_TARGET))

    if light:
        return list(results)
    progress("the same warehouse build through Airflow (transform DAG, dag.test()) and on the command line ...")
    whole: list[build.DagTiming] = []

    def through_airflow() -> list[dict]:
        parse = build.parse_for_builds(bench, url)
        whole.append(build.airflow_build(bench))
        return [figure("warehouse build through Airflow (write-audit-publish) / CLI dbt build", whole[0].seconds,
                       baseline=build.dbt_build(bench, url), target=AIRFLOW_TARGET),
                figure("  not in it: Airflow's own start in a fresh dag.test() process (once per process; a "
                       "deployed scheduler has started)", whole[0].airflow_start),
                figure("  not in it: dbt's first parse for the build schemas (once per dbt project change)", parse)]

    _attempt(results, "warehouse build through Airflow", through_airflow)
    if whole:
        progress("the transform DAG again after one more new month (a partial build) ...")
        another = data.police_month(folder, base, max(rows // 10, 100), "2020-08")
        loads.platform_load(bench, "police/street_crime", another)
        _attempt(results, "partial warehouse build through Airflow", lambda: [figure(
            "warehouse build through Airflow after a new month (partial, write-audit-publish) / the full one",
            build.airflow_build(bench).seconds, baseline=whole[0].seconds)])

    small = data.police_month(folder, base, min(1000, rows), "2020-07")

    def scheduled() -> list[dict]:
        from devtools.bench.scheduled import under_the_scheduler

        return under_the_scheduler(bench, admin_url, folder, base, small, national_scale, figure, progress)

    _attempt(results, "under the scheduler", scheduled)
    return list(results)


def run_scheduled_bench(settings: Settings, *, national_scale: float = 1.0,
                        progress: Callable[[str], None] = lambda _: None) -> list[dict]:
    """Only the figures under the scheduler (``python -m devtools bench --only-scheduled``): the small
    file's latency and the national month, on a fresh benchmark database."""
    from devtools.bench import data, loads
    from devtools.bench.scheduled import under_the_scheduler
    from totalplace import services
    from totalplace.reference import load_reference

    admin_url = services.up(settings)
    bench = loads.bench_settings(settings, admin_url)
    progress(f"benchmark database {loads.BENCH_DATABASE}: schemas, roles and reference data ...")
    services.prepare_warehouse(bench, bench.warehouse_url)
    services.ensure_manifest(bench, bench.warehouse_url)
    load_reference(bench)
    folder = settings.state_dir / "bench" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    base = data.police_base(folder, 100_000)
    small = data.police_month(folder, base, 1000, "2020-07")
    results = _Results(results_path(settings))
    _attempt(results, "under the scheduler", lambda: under_the_scheduler(
        bench, admin_url, folder, base, small, national_scale, figure, progress))
    return list(results)
