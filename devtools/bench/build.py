"""The benchmark's warehouse-build and Airflow figures: dbt full vs incremental, Airflow vs the dbt
CLI, DAG parse time, and a small file's time from upload to published."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

from devtools.bench.loads import child_env, settle
from totalplace.settings import Settings


def dbt_build(settings: Settings, url: str, *, full_refresh: bool = False, select: list[str] | None = None) -> float:
    """Seconds of one CLI ``dbt build`` of the whole project (models and tests), or of ``select``."""
    from totalplace.dbt import run_dbt

    settle(url)
    start = time.perf_counter()
    result = run_dbt(settings, url, "build", "--quiet", *(["--full-refresh"] if full_refresh else []),
                     *(["--select", *select] if select else []), capture=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{result.stdout[-3000:]}")
    return elapsed


WARM_UP_DAG = "ops__submission_calendar"
"""A small DAG (two tasks, one query) run twice before the timed run, in the same process."""

RUN_DAG = """
import sys, time
from totalplace import airflow_runner
from totalplace.settings import Settings
from totalplace.warehouse import warehouse_url
s = Settings()
airflow_runner.prepare_process(s, warehouse_url(s))
dags = airflow_runner.load_dags(s)
for dag_id in sys.argv[2:]:
    start = time.perf_counter()
    result = airflow_runner.test_dag(dags[dag_id])
    print("WARM-UP", time.perf_counter() - start, result.state, flush=True)
start = time.perf_counter()
result = airflow_runner.test_dag(dags[sys.argv[1]])
print("RESULT", time.perf_counter() - start, result.state)
"""


@dataclass
class DagTiming:
    seconds: float
    """The timed run of the DAG."""
    airflow_start: float
    """What the first DAG run in a fresh process costs more than the next one (the warm-up DAG's
    first run less its second): Airflow starting its in-process execution API."""


def run_dag(settings: Settings, dag_id: str) -> DagTiming:
    """One ``dag.test()`` run of ``dag_id`` in a child process seeing ``settings``, timed after the
    warm-up DAG has run twice in that process; raises unless every run succeeded.

    A deployed Airflow starts its API server and scheduler once and then runs DAGs for months; a
    fresh ``dag.test()`` process instead builds the execution API on its first task (about 5 s here,
    measured: the same no-op transform run took 6.3 s first, 1.1-1.4 s after). The timed run is
    therefore a run of an Airflow that has started, and the start is reported on its own.
    """
    settle(settings.warehouse_url)
    result = subprocess.run([sys.executable, "-c", RUN_DAG, dag_id, WARM_UP_DAG, WARM_UP_DAG],
                            env=child_env(settings), capture_output=True, text=True, check=False)
    runs = [line.split() for line in result.stdout.splitlines() if line.startswith(("WARM-UP", "RESULT"))]
    if result.returncode != 0 or len(runs) != 3 or any(run[2] != "success" for run in runs):
        raise RuntimeError(f"{dag_id} run failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return DagTiming(float(runs[2][1]), float(runs[0][1]) - float(runs[1][1]))


def parse_for_builds(settings: Settings, url: str) -> float:
    """Seconds of ``dbt parse`` as the transform's builds see the project (into the build schemas),
    in a process of its own. It leaves the partial-parse state that a deployment's earlier builds
    leave behind, so the timed DAG run parses only what changed, as the CLI build it is compared
    with does; without it, the first build in a new state folder parses the whole project."""
    from totalplace.dbt import run_dbt
    from totalplace.publish_warehouse import BUILD_SUFFIX

    start = time.perf_counter()
    result = run_dbt(settings, url, "parse", "--quiet", capture=True, schema_suffix=BUILD_SUFFIX)
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout[-3000:]}")
    return time.perf_counter() - start


def airflow_build(settings: Settings) -> DagTiming:
    """The transform DAG's run (``dag.test()``: prepare, one dbt build, audit, publish)."""
    return run_dag(settings, "transform__dbt_build")


PARSE_ONE = """
import importlib, sys, time, ast
from pathlib import Path
path = Path(sys.argv[1])
# as Airflow's DAG processor does (parsing_pre_import_modules): the modules the file imports are
# imported once in the processor, before files are parsed
for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for name in ([node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]):
            try:
                importlib.import_module(name)
            except Exception:
                pass
from airflow.dag_processing.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder=str(path), safe_mode=False)
print("SECONDS", time.perf_counter() - start, len(bag.dags), len(bag.import_errors))
"""


def dag_parse_seconds(settings: Settings) -> dict[str, tuple[float, int]]:
    """Per DAG file: seconds to parse it in a fresh process (its imports done first), and DAGs found."""
    from totalplace import airflow_env

    airflow_env.configure(settings)
    times = {}
    for path in sorted(settings.dags_folder.glob("*.py")):
        result = subprocess.run([sys.executable, "-c", PARSE_ONE, str(path)], env=dict(os.environ),
                                capture_output=True, text=True, check=False)
        line = next((x for x in result.stdout.splitlines() if x.startswith("SECONDS")), None)
        if line is None:
            raise RuntimeError(f"parsing {path.name} failed:\n{result.stderr[-2000:]}")
        _, seconds, dags, errors = line.split()
        if int(errors):
            raise RuntimeError(f"{path.name} has import errors")
        times[path.name] = (float(seconds), int(dags))
    return times
