"""`make bench` still runs end to end (its figures are not asserted: speed is shown, not timed)."""

from __future__ import annotations

import json


def test_bench_runs_on_a_small_file_and_writes_its_results(settings):
    from totalplace import sftp_server
    from totalplace.bench import results_path, run_bench

    try:
        results = run_bench(settings, rows=2_000)
    finally:
        sftp_server.stop_background(settings)
    figures = {r["figure"]: r for r in results}
    platform = figures["load + gate + publish, 2,000 rows"]
    assert platform["value"] > 0 and platform["baseline"] > 0 and platform["ratio"] > 0
    assert json.loads(results_path(settings).read_text()) == results
