"""One typed settings object for the whole platform.

Every setting comes from the environment (prefix ``TOTALPLACE_``) or a ``.env`` file in the project
root, so the CLI, the Airflow DAGs, dbt and the tests all read the same values. Paths that hang off
the state folder are derived here and nowhere else: a newcomer finds every file the platform writes
by reading this module.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent



class Settings(BaseSettings):
    """Platform settings. Empty ``warehouse_url`` means: start the embedded PostgreSQL."""

    model_config = SettingsConfigDict(
        env_prefix="TOTALPLACE_",
        env_file=str(PROJECT_ROOT / ".env"),
        extra="ignore",
    )

    warehouse_url: str = Field(
        default="",
        description="libpq URL of an external PostgreSQL (>= 14). Empty: embedded PostgreSQL in the state folder.",
    )
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".totalplace",
        description="Everything the platform writes at run time: database, SFTP root, Airflow home, reports.",
    )
    sftp_host: str = Field(default="127.0.0.1", description="SFTP server the connector and `drop` talk to.")
    sftp_port: int = Field(
        default=0,
        description="SFTP port. 0: the local server picks a free port and records it in the state folder.",
    )
    sftp_credentials_file: Path | None = Field(
        default=None,
        description="JSON {account: password} used by the connector. Default: generated in the state folder.",
    )
    sftp_known_hosts: Path | None = Field(
        default=None,
        description="known_hosts file holding an external SFTP server's host key (the local server's key is pinned automatically).",
    )
    sftp_settle_seconds: float = Field(
        default=3.0,
        description="A file without a .done marker is taken only when its size and mtime are unchanged across two listings this far apart.",
    )
    sftp_max_file_bytes: int = Field(default=5 * 2**30, ge=1, description="Largest file a partner may upload (bytes).")
    sftp_allowed_extensions: list[str] = Field(
        default=[".csv", ".xlsx", ".xls", ".ods", ".txt"],
        description="Extensions partners may upload (plus .part / .done suffixes); what a file is, is told by its bytes.")
    sftp_max_sessions_per_account: int = Field(
        default=8, ge=1, description="Concurrent SFTP connections one partner account may hold (the platform's "
        "own connector, logging in with its key, is not counted).")
    sftp_max_account_bytes: int = Field(
        default=20 * 2**30, ge=1, description="Bytes a partner's inbox may hold at once (no new upload beyond it).")
    sftp_max_account_files: int = Field(
        default=1000, ge=1, description="Files a partner's inbox may hold at once (no new upload beyond it).")
    files_store_url: str | None = Field(
        default=None, description="Where each received file is kept for the tasks after `fetch`, which may run on "
        "other workers: a folder every worker mounts, or an fsspec URL such as s3://bucket/files (with s3fs). "
        "Default: <state>/files (one machine).")
    ingest_shares: int = Field(
        default=4, ge=1, description="Shares the files of one ingest run are dealt into, each landed, gated and "
        "published by its own task instances - so several workers take one feed's files side by side.")
    inbox_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often the triggerer's watcher lists the partners' inboxes (seconds): "
        "a complete file starts its feed's ingest within about this long.")
    sftp_parallel_sessions: int = Field(
        default=8, ge=1, le=32, description="SFTP sessions the platform's connector opens at once, one per partner "
        "account (watching the inboxes, taking files): hundreds of partners' inboxes are listed in about a second, "
        "not one after another.")
    sftp_service_key_file: Path | None = Field(
        default=None, description="Private key the platform's connector logs in with (an external SFTP server "
        "lists its public half for every account). Default: generated in the state folder for the local server.")
    sftp_service_user: str = Field(
        default="totalplace-sftp", description="Unprivileged system user the local SFTP server drops to when it is "
        "started as root (created when missing); uploads belong to it, mode 0600.")
    sql_timeout_seconds: int = Field(
        default=300, ge=1, description="A query of `totalplace sql` (and of analyst and partner logins) is "
        "cancelled after this long; idle transactions of those logins are ended after it too.")
    publish_lock_timeout_ms: int = Field(
        default=1000, ge=10, description="Publishing waits this long for a lock before letting readers through "
        "and trying again, so a long analyst query never queues the others behind it.")
    publish_lock_wait_seconds: float = Field(
        default=900, gt=0, description="Publishing gives up (the DAG task fails and retries) after trying for "
        "its locks this long.")
    alert_webhook_url: str = Field(default="", description="URL alerts are POSTed to as JSON (empty: log only).")
    alert_email_to: str = Field(default="", description="Address alerts are e-mailed to (needs smtp_host).")
    alert_email_from: str = Field(default="totalplace@localhost")
    smtp_host: str = Field(default="")
    smtp_port: int = Field(default=25)
    keys_dir: Path | None = Field(
        default=None,
        description="Folder of the pseudonymisation keys, one <key>.key per data-sharing agreement (HMAC-SHA256); "
        "kept outside the warehouse and the repository. Default: <state>/keys (created for local use).",
    )
    postcode_lookup_file: Path = Field(
        default=PROJECT_ROOT / "reference" / "postcode_lsoa_demo.csv",
        description="Postcode -> LSOA lookup (ONS Postcode Directory CSV: pcds, lsoa11). The default holds the "
        "demo's synthetic postcodes only; point it at ONSPD for real extracts.",
    )
    quarantine_retention_days: int = Field(
        default=90, ge=1, description="Quarantined rows and files are deleted this long after they arrived."
    )
    dbt_target_schema: str = Field(default="analytics", description="Base schema dbt builds into.")
    dbt_threads: int = Field(default=2, ge=1)
    airflow_home_dir: Path | None = Field(
        default=None, description="AIRFLOW_HOME for in-process runs and `make airflow`. Default: <state>/airflow."
    )
    airflow_database_url: str | None = Field(
        default=None, description="Airflow's metadata database for `totalplace airflow --workers N` (a SQLAlchemy "
        "URL). Default: a database `airflow` made on the warehouse's server.")
    airflow_parallelism: int = Field(default=4, ge=1, description="Task instances Airflow runs at once.")
    site_folder: Path | None = Field(
        default=None, description="Folder the place profiles site is written to, for a web server to serve "
        "(in docker-compose a volume of its own: the state folder is private). Default: <state>/site.")
    dags_folder: Path = Field(default=PROJECT_ROOT / "dags")
    feeds_dir: Path = Field(default=PROJECT_ROOT / "feeds")
    agreements_file: Path = Field(default=PROJECT_ROOT / "agreements.yml",
                                  description="data-sharing agreements: which body may send which feed, until when")
    partners_file: Path = Field(default=PROJECT_ROOT / "partners.yml",
                                description="partner bodies, their SFTP accounts and the feeds each sends")
    dbt_project_dir: Path = Field(default=PROJECT_ROOT / "dbt_project")

    def model_copy(self, *, update: dict | None = None, deep: bool = False) -> Settings:
        """A copy with ``update`` applied, whose derived paths follow the new values.

        pydantic copies the instance's ``__dict__``, where ``cached_property`` keeps what it computed:
        without this, a copy with another ``state_dir`` kept the original's SFTP port file (the
        benchmark's drop-to-published step uploaded to the wrong server that way).
        """
        copy = super().model_copy(update=update, deep=deep)
        for name, attr in vars(type(self)).items():
            if isinstance(attr, cached_property):
                copy.__dict__.pop(name, None)
        return copy

    # ---- derived paths (not settings: change state_dir instead) ----
    @cached_property
    def pgdata_dir(self) -> Path:
        return self.state_dir / "pgdata"

    @cached_property
    def sftp_dir(self) -> Path:
        return self.state_dir / "sftp"

    @property
    def sftp_service_key_path(self) -> Path:
        """The private key the platform's connector logs in with: ``sftp_service_key_file``, else the local
        server's, made in the state folder by ``totalplace up``."""
        return self.sftp_service_key_file or (self.sftp_dir / "service_key")

    @cached_property
    def sftp_root(self) -> Path:
        """Parent of the per-account chroot folders (``<root>/<account>/inbox``, accounts in partners.yml)."""
        return self.sftp_dir / "root"

    @cached_property
    def sftp_port_file(self) -> Path:
        return self.sftp_dir / "port"

    @cached_property
    def sftp_pid_file(self) -> Path:
        return self.sftp_dir / "server.pid"

    @cached_property
    def sftp_host_key(self) -> Path:
        return self.sftp_dir / "ssh_host_ed25519_key"

    @cached_property
    def credentials_file(self) -> Path:
        return self.sftp_credentials_file or (self.sftp_dir / "credentials.json")

    def key_file(self, key_name: str) -> Path:
        """The pseudonymisation key of one data-sharing agreement."""
        return (self.keys_dir or (self.state_dir / "keys")) / f"{key_name}.key"

    @cached_property
    def files_dir(self) -> Path:
        """Downloaded source files, kept by file_id for re-processing and audit."""
        return self.state_dir / "files"

    @cached_property
    def watch_status_file(self) -> Path:
        """What the triggerer's inbox watcher last saw (``totalplace status`` shows it)."""
        return self.state_dir / "inbox_watch.json"

    @cached_property
    def airflow_home(self) -> Path:
        return self.airflow_home_dir or (self.state_dir / "airflow")

    @cached_property
    def run_dir(self) -> Path:
        """XDG_RUNTIME_DIR for the libraries that want one (0700)."""
        return self.state_dir / "run"

    @cached_property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @cached_property
    def validations_dir(self) -> Path:
        """GX Data Docs pages of each file's gate (``<file_id>.html``), linked from the site."""
        return self.state_dir / "validations"

    @cached_property
    def site_dir(self) -> Path:
        """The place profiles site (``totalplace report``), served as plain files."""
        return self.site_folder or (self.state_dir / "site")

    @property
    def embedded(self) -> bool:
        return not self.warehouse_url

    def resolved_sftp_port(self) -> int:
        """The configured port, or the one the local server recorded when it started."""
        if self.sftp_port:
            return self.sftp_port
        try:
            return int(self.sftp_port_file.read_text().strip())
        except (FileNotFoundError, ValueError) as exc:
            raise RuntimeError(
                "The local SFTP server is not running (no port recorded). Start it with `totalplace up`."
            ) from exc


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment; tests pass overrides instead of editing os.environ."""
    return Settings(**overrides)  # type: ignore[arg-type]
