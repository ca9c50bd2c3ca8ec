"""The state folder is private: what the platform keeps on disk is readable by the platform alone.

Everything under ``TOTALPLACE_STATE_DIR`` - kept extracts (``files/``), the SFTP inboxes
(``sftp/root/``), keys, credentials, generated demo data, logs, dbt's and Airflow's files - is made
owner-only: folders 0700, files 0600. Two things are deliberately readable by others:

* the state folder itself may be *searchable* (0711, never listable) when the platform runs as
  root: the embedded PostgreSQL and the local SFTP server then run as their own system users
  (``pgserver``, ``totalplace-sftp``), which must pass through it to reach their own 0700 folders;
* ``site/`` and ``validations/``: the place profiles are published output made from the published
  marts (no raw row, no value from a rejected file), served by any web server.

:func:`private_dir` and :func:`write_private` are how the platform creates what it keeps, whatever
the process's umask; :func:`tighten` repairs an older state folder at ``totalplace up``;
:func:`loose_entries` is what ``totalplace status`` checks.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from totalplace.settings import Settings

PUBLISHED = ("site", "validations")
"""Folders of the state folder meant to be read by others (the site and its validation pages)."""


def _state_mode() -> int:
    return 0o711 if os.geteuid() == 0 else 0o700


def ensure_state_dir(settings: Settings) -> Path:
    """The state folder, created owner-only (searchable by others when root, see above)."""
    state = settings.state_dir
    if not state.exists():
        state.parent.mkdir(parents=True, exist_ok=True)
        state.mkdir(mode=0o700, exist_ok=True)
    mode = stat.S_IMODE(state.stat().st_mode)
    if mode & 0o077 and mode != _state_mode():
        state.chmod(_state_mode())  # the embedded server's start makes every parent of pgdata o+rx
    return state


def private_dir(path: Path, settings: Settings | None = None) -> Path:
    """``path`` and any missing parents below the state folder, each 0700 (umask or not)."""
    if settings is not None:
        ensure_state_dir(settings)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    return path


def write_private(path: Path, data: bytes | str) -> Path:
    """Write a file only its owner may read (0600 from the first byte, not chmod-ed afterwards)."""
    private_dir(path.parent)
    payload = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    os.chmod(path, 0o600)
    return path


def _skip(rel: str) -> bool:
    top = rel.split(os.sep, 1)[0]
    return top in PUBLISHED


def tighten(settings: Settings) -> int:
    """Make every entry of the state folder owner-only (published output excepted); returns how many
    were changed. Run at ``totalplace up``, so a state folder made before this rule is repaired.
    Folders owned by another user (the servers' own, already 0700) are left to their owners."""
    state = ensure_state_dir(settings)
    changed = 0
    me = os.geteuid()
    for root, dirs, files in os.walk(state):
        rel_root = os.path.relpath(root, state)
        dirs[:] = [d for d in dirs if not _skip(os.path.normpath(os.path.join(rel_root, d)))]
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode) or stat.S_ISSOCK(info.st_mode) or info.st_uid != me:
                continue  # pgdata (pgserver) and the SFTP homes (totalplace-sftp) are 0700 by their servers
            if info.st_mode & 0o077:
                os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
                changed += 1
    return changed


def loose_entries(settings: Settings, limit: int = 20) -> list[str]:
    """Entries another local user could read, write or list (``0o644 files/...``), at most ``limit``.
    A folder others may only pass through (0711: no listing) is not loose: its entries are judged alone."""
    state = settings.state_dir
    if not state.exists():
        return []
    found = []
    mode = stat.S_IMODE(state.stat().st_mode)
    if mode & 0o066:
        found.append(f"{oct(mode)} {state}")
    for root, dirs, files in os.walk(state):
        rel_root = os.path.relpath(root, state)
        dirs[:] = [d for d in dirs if not _skip(os.path.normpath(os.path.join(rel_root, d)))]
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
                continue
            if info.st_mode & (0o066 if stat.S_ISDIR(info.st_mode) else 0o077):
                found.append(f"{oct(stat.S_IMODE(info.st_mode))} {os.path.relpath(path, state)}")
                if len(found) >= limit:
                    return found
    return found
