"""Starting, stopping and describing the platform's local services (warehouse, SFTP, dbt manifest, Airflow DB)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from totalplace import access, dbt, sftp_server, warehouse
from totalplace.contracts import load_contracts
from totalplace.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Status:
    warehouse_url: str | None
    warehouse_embedded: bool
    warehouse_up: bool
    sftp_address: str | None
    sftp_up: bool
    sftp_local: bool
    manifest: Path
    manifest_present: bool


def uses_local_sftp(settings: Settings) -> bool:
    """True when the platform runs its own SFTP server (the default), not an external one."""
    return settings.sftp_host in ("127.0.0.1", "localhost") and settings.sftp_port == 0


def up(settings: Settings) -> str:
    """Warehouse (started if embedded) with schemas; SFTP accounts and server; dbt manifest. Idempotent."""
    from totalplace.partners import check_registry
    from totalplace.state import ensure_state_dir, tighten

    check_registry(settings)  # a registry that does not match the contracts and agreements stops here
    ensure_state_dir(settings)
    url = warehouse.ensure_warehouse(settings)
    prepare_warehouse(settings, url)
    if uses_local_sftp(settings):
        sftp_server.ensure_accounts(settings)
        sftp_server.start_background(settings)
    ensure_manifest(settings, url)
    changed = tighten(settings)
    if changed:
        log.warning("made %d entries of the state folder %s owner-only", changed, settings.state_dir)
    return url


def prepare_warehouse(settings: Settings, url: str) -> list[str]:
    """Platform schemas plus an (empty) raw table for every feed, so dbt can build before a feed's first
    file; returns what it changed (nothing, and no DDL, when the warehouse is already at this version)."""
    from totalplace.ingest.tables import ensure_raw_table, migrate_raw_types

    changes = []
    if warehouse.stored_version(url) != warehouse.schema_version(settings):
        warehouse.bootstrap(url, settings)
        changes.append("schemas, roles, grants and guards brought to this version")
    # a contract that changed a column's type: the published rows converted once, as the owner
    with warehouse.connect(url) as conn:
        for contract in load_contracts(settings.feeds_dir).values():
            for change in migrate_raw_types(conn, contract):
                log.warning("warehouse: %s", change)
                changes.append(change)
    # as the loader, which owns raw (and so may attach each file's partition later)
    with warehouse.connect(access.as_role(url, settings, "loader")) as conn:
        for contract in load_contracts(settings.feeds_dir).values():
            changes += ensure_raw_table(conn, contract)
    return changes


def watcher_summary(settings: Settings, now: float | None = None) -> str:
    """One line on the triggerer's inbox watcher, from the status it writes each look
    (``airflow_triggers.write_watch_status``): whether it looks, how often, and what it cannot reach."""
    import json
    import time

    try:
        seen = json.loads(settings.watch_status_file.read_text())
        ago = (now or time.time()) - seen["looked_at"]
        line = (f"the inbox watcher looked at {seen['accounts']} inboxes {ago:.0f} s ago, in "
                f"{seen['look_seconds']:.1f} s (every {seen['poll_seconds']:g} s)")
    except (OSError, ValueError, KeyError, TypeError):
        return "the inbox watcher has not looked yet (it runs in Airflow's triggerer: `totalplace airflow`)"
    if ago > max(60, 10 * seen["poll_seconds"]):
        line += " - it has stopped looking: is Airflow's triggerer running?"
    if seen.get("unreachable"):
        line += f"; could not list {len(seen['unreachable'])}: {', '.join(seen['unreachable'][:10])}"
    return line


def down(settings: Settings) -> list[str]:
    stopped = []
    if sftp_server.stop_background(settings):
        stopped.append("sftp")
    if settings.embedded and warehouse.stop_embedded(settings):
        stopped.append("warehouse")
    return stopped


def ensure_manifest(settings: Settings, url: str) -> Path:
    """``dbt parse`` unless the manifest was parsed from the dbt project as it is now."""
    if dbt.current_manifest(settings) is None or not dbt.manifest_path(settings).exists():
        dbt.parse(settings, url)
    return dbt.manifest_path(settings)


def status(settings: Settings) -> Status:
    try:
        url: str | None = warehouse.warehouse_url(settings)
    except warehouse.WarehouseNotRunning:
        url = None
    local = uses_local_sftp(settings)
    sftp_up = sftp_server.is_running(settings) if local else True
    try:
        port = settings.resolved_sftp_port()
        address = f"sftp://{settings.sftp_host}:{port}"
    except RuntimeError:
        address = None
    manifest = dbt.manifest_path(settings)
    return Status(
        warehouse_url=url,
        warehouse_embedded=settings.embedded,
        warehouse_up=bool(url) and warehouse.is_reachable(url),
        sftp_address=address,
        sftp_up=sftp_up and address is not None,
        sftp_local=local,
        manifest=manifest,
        manifest_present=manifest.exists(),
    )
