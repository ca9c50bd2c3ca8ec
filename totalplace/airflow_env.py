"""Environment for running the platform's Airflow DAGs in-process or under ``airflow standalone``.

Airflow reads its configuration from the environment when first imported, so
:func:`configure` must run before anything imports ``airflow``. AIRFLOW_HOME lives in the state
folder; telemetry of Airflow, cosmos, dbt and GX is off (this machine has no internet and
partners' data platforms should not phone home).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from totalplace.settings import Settings

TELEMETRY_OFF = {
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "false",
    "SCARF_NO_ANALYTICS": "true",
    "DO_NOT_TRACK": "1",
}


def airflow_environment(settings: Settings) -> dict[str, str]:
    settings.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.run_dir.chmod(0o700)
    env = {
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.airflow_home / "logs"),
        "XDG_RUNTIME_DIR": str(settings.run_dir),
        **TELEMETRY_OFF,
        **settings_environment(settings),
    }
    return env


def settings_environment(settings: Settings) -> dict[str, str]:
    """Every setting as a TOTALPLACE_* variable, so tasks that call ``Settings()`` see the same values."""
    import json

    return {
        # lists go as JSON, which is how pydantic-settings reads a list from the environment
        f"TOTALPLACE_{name.upper()}": json.dumps(value) if isinstance(value, list) else str(value)
        for name, value in settings.model_dump().items()
        if value is not None and value != ""
    }


def configure(settings: Settings) -> None:
    """Export the Airflow environment into this process (before importing airflow)."""
    os.environ.update(airflow_environment(settings))


def ensure_metadata_db(settings: Settings) -> None:
    """``airflow db migrate`` once per AIRFLOW_HOME (about 5 s); later calls are free."""
    marker = settings.airflow_home / ".migrated"
    if marker.exists():
        return
    from totalplace.state import private_dir

    private_dir(settings.airflow_home)
    env = dict(os.environ, **airflow_environment(settings))
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    for path in settings.airflow_home.glob("airflow.db*"):
        path.chmod(0o600)  # who ran what, with connections and variables: the platform's alone
    marker.write_text("ok\n")


UI_USER = "admin"


def ui_login(settings: Settings) -> tuple[str, str]:
    """(user, password) of the local Airflow UI: Airflow's simple auth manager keeps the passwords of
    its users in a file in AIRFLOW_HOME and generates one for a user it does not find there. Writing
    it first (0600) lets ``totalplace airflow`` print the login before Airflow starts."""
    import json
    import secrets

    path = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        passwords = json.loads(path.read_text() or "{}")
    except (FileNotFoundError, ValueError):
        passwords = {}
    if not passwords.get(UI_USER):
        passwords[UI_USER] = secrets.token_urlsafe(12)
        from totalplace.state import write_private

        write_private(path, json.dumps(passwords) + "\n")
    return UI_USER, passwords[UI_USER]
