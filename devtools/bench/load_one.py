"""``python -m devtools.bench.load_one AGENCY/FEED FILE``: one timed load, its result as a JSON line.

Run by the benchmark in a child process so that the peak resident memory it reports belongs to
the loader alone (Great Expectations is imported before the clock starts: importing it is a
process start-up cost, not a per-file one - but its memory counts).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program, in MB.

    ``VmHWM`` of /proc/self/status, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across
    fork + exec, so a child started by a big parent (the benchmark holds its generated base file)
    would report the parent's size - measured: 736 MB for a load whose own peak was 280 MB.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:  # not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(feed: str, path: str) -> None:
    import great_expectations  # noqa: F401

    from totalplace import ingest
    from totalplace.contracts import get_contract
    from totalplace.settings import Settings

    settings = Settings()
    agency, name = feed.split("/")
    contract = get_contract(settings.feeds_dir, agency, name)
    steps: dict[str, float] = {}
    start = time.perf_counter()
    outcome = ingest.ingest_local(settings, contract, Path(path), timings=steps)
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    # a workbook is parsed in a child process of the loader (connectors.xlsx): its peak, an upper bound
    # (ru_maxrss of a child starts from the loader's size at the fork)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    done = {"seconds": seconds, "steps": steps, "peak_rss_mb": round(peak, 1),
            "children_peak_rss_mb": round(children, 1),
            "rows": outcome.rows if outcome else 0, "file_id": outcome.file_id if outcome else 0,
            "status": outcome.status if outcome else "skipped"}
    sys.stdout.write(json.dumps(done) + "\n")  # the parent reads this line


if __name__ == "__main__":
    main(*sys.argv[1:3])
