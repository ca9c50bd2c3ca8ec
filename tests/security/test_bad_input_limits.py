"""Finding 8: bad input that hung or crawled.

``totalplace validate /dev/zero`` and a FIFO hung for ever; a CSV with 100,000 columns took 151 s and
wrote a 1 MB report; 1,000,000 columns did not finish (header matching grew quadratically). Only
regular files are read, header matching is linear in the number of columns, and a contract caps the
columns a file may have."""

from __future__ import annotations

import json
import os
import time

import pytest
from conftest import run_cli


@pytest.mark.parametrize("kind", ["device", "fifo", "symlink to a device", "directory"])
def test_only_regular_files_are_read(settings, tmp_path, kind):
    target = {"device": "/dev/zero", "directory": str(tmp_path)}.get(kind)
    if kind == "fifo":
        target = str(tmp_path / "pipe.csv")
        os.mkfifo(target)
    elif kind == "symlink to a device":
        target = str(tmp_path / "zero.csv")
        os.symlink("/dev/zero", target)
    started = time.monotonic()
    out = run_cli(settings, "validate", "--feed", "police/street_crime", "--as", "city_of_london_police", target)
    assert time.monotonic() - started < 60
    assert out.returncode == 2, out.stdout + out.stderr
    assert "regular file" in out.stderr or "directory" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("columns", [100_000, 1_000_000])
def test_a_file_with_absurdly_many_columns_is_refused_fast_with_a_short_report(settings, tmp_path, columns):
    path = tmp_path / "wide.csv"
    header = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
              "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
    header += [f"c{i}" for i in range(columns - len(header))]
    path.write_text(",".join(header) + "\n" + ",".join(["x"] * columns) + "\n")
    started = time.monotonic()
    out = run_cli(settings, "validate", "--feed", "police/street_crime", "--as", "city_of_london_police", "--json", str(path))
    took = time.monotonic() - started
    assert out.returncode == 1, out.stderr
    assert took < 30, f"{columns:,} columns took {took:.0f} s"
    assert len(out.stdout) < 10_000, f"a {len(out.stdout):,}-byte report"
    report = json.loads(out.stdout)
    assert any("columns" in p["rule"] and "at most" in p["rule"] for p in report["problems"]), report["problems"]
