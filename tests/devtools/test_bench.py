"""`make bench` still runs end to end (its figures are not asserted: speed is shown, not timed)."""

from __future__ import annotations

import json


def test_bench_runs_on_small_files_and_writes_its_results(settings):
    from devtools.bench import results_path, run_bench
    from totalplace import sftp_server

    try:
        results = run_bench(settings, rows=2_000, light=True)
    finally:
        sftp_server.stop_background(settings)
    figures = {r["figure"]: r for r in results}
    platform = figures["load + gate + publish, police 2,000 rows (0 MB) / bare COPY"]
    assert platform["value"] > 0 and platform["baseline"] > 0 and platform["ratio"] > 0
    # the incremental build is what the transform selects after a new police month
    assert any(name.startswith("dbt build, incremental") and "source:raw_police.police__street_crime+" in name
               for name in figures)
    assert any(name.startswith("DAG file parse, transform__dbt_build.py") for name in figures)
    assert all(set(r) == {"figure", "value", "unit", "baseline", "ratio", "target", "pass"} for r in results)
    assert json.loads(results_path(settings).read_text()) == results
