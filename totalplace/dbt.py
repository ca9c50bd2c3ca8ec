"""Running dbt with the platform's connection and folders.

dbt reads its connection from environment variables set here from the warehouse URL, and writes
``target/`` and ``logs/`` into the state folder, so parallel test sessions and read-only checkouts
do not trip over each other. The manifest it writes there is what the Airflow DAG renders.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from totalplace.settings import Settings
from totalplace.warehouse import dbt_env


def dbt_target_dir(settings: Settings) -> Path:
    return settings.state_dir / "dbt" / "target"


def manifest_path(settings: Settings) -> Path:
    return dbt_target_dir(settings) / "manifest.json"


def dbt_environment(settings: Settings, url: str) -> dict[str, str]:
    env = dbt_env(url, settings)
    env["DBT_TARGET_PATH"] = str(dbt_target_dir(settings))
    env["DBT_LOG_PATH"] = str(settings.state_dir / "dbt" / "logs")
    env["DBT_PROJECT_DIR"] = str(settings.dbt_project_dir)
    return env


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(settings: Settings, url: str, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """``dbt <args>`` in the project folder with the platform's environment."""
    env = dict(os.environ, **dbt_environment(settings, url))
    return subprocess.run(
        [dbt_executable(), *args],
        cwd=settings.dbt_project_dir,
        env=env,
        text=True,
        capture_output=capture,
        check=False,
    )


def parse(settings: Settings, url: str) -> Path:
    """Write the manifest the transform DAG renders from; needs no database connection."""
    result = run_dbt(settings, url, "parse", "--quiet", capture=True)
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return manifest_path(settings)
