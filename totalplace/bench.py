"""``make bench``: the platform's load + gate + publish against a bare COPY of the same file.

Both run in the same process against the same warehouse, so the ratio is what counts, not the
seconds. The platform's run goes through ``intake.ingest_local`` - the same code the ingest DAG
runs - on a copy of the police contract (feed ``street_crime_bench``) whose table and ledger
rows are removed afterwards. Great Expectations is imported before timing: importing it is a
process start-up cost, not a per-file one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from psycopg import sql

from totalplace import intake, services
from totalplace.contracts import get_contract
from totalplace.generate_data import london_lsoas, write_police_csv
from totalplace.reference import REFERENCE_DIR
from totalplace.settings import Settings
from totalplace.warehouse import connect

TARGET_RATIO = 1.5


def results_path(settings: Settings) -> Path:
    return settings.state_dir / "bench.json"


def _bare_copy(url: str, path: Path, columns: int) -> float:
    with connect(url) as conn:
        conn.execute("drop table if exists landing.bench_bare_copy")
        conn.execute(
            sql.SQL("create unlogged table landing.bench_bare_copy ({})").format(
                sql.SQL(", ").join(sql.SQL("c{} text").format(sql.SQL(str(i))) for i in range(columns))
            )
        )
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy("copy landing.bench_bare_copy from stdin with (format csv, header true)") as cp:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    cp.write(chunk)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("drop table landing.bench_bare_copy")
    return elapsed


def _cleanup(url: str, contract) -> None:
    with connect(url) as conn:
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("raw", contract.key)))
        conn.execute("delete from ops.file_ledger where agency = %s and feed = %s", (contract.agency, contract.feed))


def _with_bench_agreement(settings: Settings) -> Settings:
    """The project's agreements plus one for the benchmark's own synthetic feed (loaded by the
    platform itself), so the timed load goes through the same agreement check as any file."""
    import yaml

    doc = yaml.safe_load(settings.agreements_file.read_text())
    doc["agreements"].append({
        "id": "platform-benchmark", "title": "Synthetic benchmark data", "purpose": "measuring the platform",
        "lawful_basis": "no personal data (generated)", "partners": ["*"], "feeds": ["*/*_bench"],
        "starts": "2000-01-01", "review": "2099-01-01", "expires": "2099-12-31", "retention_days": 1})
    path = settings.state_dir / "bench" / "agreements.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return settings.model_copy(update={"agreements_file": path})


def run_bench(settings: Settings, *, rows: int, progress: Callable[[str], None] = lambda _: None) -> list[dict]:
    settings = _with_bench_agreement(settings)
    url = services.up(settings)
    police = get_contract(settings.feeds_dir, "police", "street_crime")
    contract = police.model_copy(update={"feed": "street_crime_bench"})
    path = settings.state_dir / "bench" / f"police_street_{rows}.csv"
    if not path.exists():
        progress(f"generating {rows:,} police rows into {path} ...")
        write_police_csv(path, rows, london_lsoas(REFERENCE_DIR / "ons_lsoa_lookup.csv"))
    progress("importing Great Expectations (not timed) ...")
    import great_expectations  # noqa: F401

    _cleanup(url, contract)
    progress("bare COPY ...")
    bare = _bare_copy(url, path, len(police.columns))
    progress("platform load + gate + publish ...")
    steps: dict[str, float] = {}
    start = time.perf_counter()
    outcome = intake.ingest_local(settings, contract, path, timings=steps)
    platform = time.perf_counter() - start
    if outcome is None or outcome.status != "published" or outcome.rows != rows:
        raise RuntimeError(f"benchmark file was not published whole: {outcome}")
    _cleanup(url, contract)
    ratio = platform / bare
    results = [
        {"figure": f"bare COPY, {rows:,} rows (unlogged table)", "value": bare, "baseline": None, "ratio": None,
         "target": None, "pass": None},
        {"figure": f"load + gate + publish, {rows:,} rows", "value": platform, "baseline": bare, "ratio": ratio,
         "target": TARGET_RATIO, "pass": ratio <= TARGET_RATIO},
    ] + [
        {"figure": f"  of which {step}", "value": seconds, "baseline": bare, "ratio": seconds / bare,
         "target": None, "pass": None}
        for step, seconds in steps.items()
    ]
    results_path(settings).write_text(json.dumps(results, indent=2))
    return results
