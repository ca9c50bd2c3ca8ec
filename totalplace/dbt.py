"""Running dbt with the platform's connection and folders.

dbt reads its connection from environment variables set here from the warehouse URL, and writes
``target/`` and ``logs/`` into the state folder, so parallel test sessions and read-only checkouts
do not trip over each other. The manifest it writes there is what the Airflow DAG renders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from totalplace.build_selection import LAYER_SELECTORS, project_hash
from totalplace.settings import Settings
from totalplace.warehouse import dbt_env


def dbt_target_dir(settings: Settings) -> Path:
    return settings.state_dir / "dbt" / "target"


def manifest_path(settings: Settings) -> Path:
    return dbt_target_dir(settings) / "manifest.json"


def dbt_environment(settings: Settings, url: str, schema_suffix: str = "") -> dict[str, str]:
    """dbt's environment; it always logs in as ``transformer``, whichever URL it is given, so every
    object of the warehouse has the one owner that may replace it. ``schema_suffix``: build into
    ``<schema><schema_suffix>`` (write-audit-publish), with artifacts in ``build_target_dir``."""
    from totalplace.access import as_role

    env = dbt_env(as_role(url, settings, "transformer"), settings)
    env["DBT_TARGET_PATH"] = str(build_target_dir(settings) if schema_suffix else dbt_target_dir(settings))
    env["DBT_LOG_PATH"] = str(settings.state_dir / "dbt" / "logs")
    env["DBT_PROJECT_DIR"] = str(settings.dbt_project_dir)
    env["TOTALPLACE_DBT_SCHEMA_SUFFIX"] = schema_suffix  # "": straight into the published schemas (CLI, tests)
    return env


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(settings: Settings, url: str, *args: str, capture: bool = False,
            schema_suffix: str = "") -> subprocess.CompletedProcess:
    """``dbt <args>`` in the project folder with the platform's environment."""
    env = dict(os.environ, **dbt_environment(settings, url, schema_suffix))
    return subprocess.run(
        [dbt_executable(), *args],
        cwd=settings.dbt_project_dir,
        env=env,
        text=True,
        capture_output=capture,
        check=False,
    )


def parse(settings: Settings, url: str) -> Path:
    """Write the manifest of the published warehouse (the DAGs read it) and keep a copy, with the
    hash of the project it was parsed from, where partial builds defer to it (``published_state_dir``:
    no other dbt command writes there); needs no database connection."""
    result = run_dbt(settings, url, "parse", "--quiet", capture=True)
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    state = published_state_dir(settings)
    state.mkdir(parents=True, exist_ok=True)
    shutil.copy2(manifest_path(settings), state / "manifest.json")
    (state / "project-hash").write_text(project_hash(settings.dbt_project_dir))
    return manifest_path(settings)


def published_state_dir(settings: Settings) -> Path:
    return settings.state_dir / "dbt" / "published-state"


def current_manifest(settings: Settings) -> Path | None:
    """The published warehouse's manifest (in ``published_state_dir``), if it was parsed from the
    dbt project as it is now; else None (a build is then a full one)."""
    state = published_state_dir(settings)
    path, stamp = state / "manifest.json", state / "project-hash"
    if path.exists() and stamp.exists() and stamp.read_text() == project_hash(settings.dbt_project_dir):
        return path
    return None


LAYERS = ("staging", "intermediate", "marts")
"""The layers of the warehouse; the transform DAG builds them all in one `dbt build` ("warehouse")."""


@dataclass
class NodeResult:
    unique_id: str
    resource_type: str
    status: str
    rows_affected: int | None
    seconds: float
    message: str | None


def build_target_dir(settings: Settings) -> Path:
    """Where builds into the build schemas write their artifacts - apart from ``dbt_target_dir``, whose
    manifest names the published schemas (the one partial builds defer to and the DAGs read). Each
    folder keeps its own partial-parse state: the schema suffix is read at parse time, so sharing one
    would make every build and every CLI command parse the whole project again."""
    return settings.state_dir / "dbt" / "target-build"


def build_layer(settings: Settings, url: str, layer: str, schema_suffix: str = "", *,
                select: list[str] | None = None, defer: bool = False) -> list[NodeResult]:
    """``dbt build`` of one layer (or the whole ``warehouse``, or the ``select`` arguments) in this
    process (into ``<schema><schema_suffix>``); the result of every model, seed and test.

    One dbt invocation, not one per model: a dbt invocation costs seconds to start and parse.
    Measured here with the demo's data: astronomer-cosmos rendering one task per model took about
    150 s for the warehouse, three layer builds about 14 s (a CLI `dbt build`: 11 s). The transform
    DAG builds the whole warehouse in one invocation. The per-model outcome is kept in
    ``ops.dbt_results`` and the task log instead.

    ``defer``: a partial build - models that are not selected are read where they are published
    (``--defer`` to the published manifest), not rebuilt.
    """
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment(settings, url, schema_suffix))
    # --quiet: errors only; the task logs one line per node from the results instead
    # buildable: a test runs in the layer that builds the last of its parents (eager would run a test
    # of an intermediate model against a staging one in the staging layer, before the model exists)
    deferral = ["--defer", "--state", str(published_state_dir(settings))] if defer else []
    outcome = dbtRunner().invoke(["build", "--quiet", "--indirect-selection", "buildable",
                                  "--select", *(select or LAYER_SELECTORS[layer]), *deferral, "--project-dir",
                                  str(settings.dbt_project_dir), "--profiles-dir", str(settings.dbt_project_dir)])
    if outcome.result is None or not hasattr(outcome.result, "results"):
        raise RuntimeError(f"dbt build of {layer} did not run: {outcome.exception}")
    return [
        NodeResult(
            unique_id=r.node.unique_id,
            resource_type=r.node.resource_type.value if hasattr(r.node.resource_type, "value") else str(r.node.resource_type),
            status=str(r.status.value if hasattr(r.status, "value") else r.status),
            rows_affected=(r.adapter_response or {}).get("rows_affected"),
            seconds=round(r.execution_time or 0.0, 3),
            message=r.message,
        )
        for r in outcome.result.results
    ]


def compile_inline(settings: Settings, url: str, text: str) -> str:
    """The SQL dbt compiles ``text`` (Jinja using the project's macros) to - for tests and analysts."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment(settings, url))
    outcome = dbtRunner().invoke(["compile", "--quiet", "--inline", text, "--project-dir",
                                  str(settings.dbt_project_dir), "--profiles-dir", str(settings.dbt_project_dir)])
    if not outcome.success:
        raise RuntimeError(f"dbt could not compile the text: {outcome.exception}")
    return outcome.result.results[0].node.compiled_code


FAILED = {"error", "fail", "runtime error"}


def record_results(url: str, run_id: str, layer: str, results: list[NodeResult]) -> None:
    """Keep every node's outcome in ``ops.dbt_results`` (one row per model/test per build)."""
    from totalplace.warehouse import connect

    with connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into ops.dbt_results (run_id, layer, unique_id, resource_type, status, rows_affected, seconds, "
            "message) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, layer, r.unique_id, r.resource_type, r.status, r.rows_affected, r.seconds, r.message)
             for r in results],
        )


def failures(results: list[NodeResult]) -> list[NodeResult]:
    return [r for r in results if r.status in FAILED]
