"""The state folder is private: what the platform keeps on disk is readable by the platform alone.

Everything under ``TOTALPLACE_STATE_DIR`` - kept extracts (``files/``), the SFTP inboxes
(``sftp/root/``), keys, credentials, generated demo data, logs, dbt's and Airflow's files - is made
owner-only: folders 0700 (so nothing below them can be reached by anyone else), and the files the
platform writes itself 0600. Two things are deliberately readable by others:

* the state folder itself may be *searchable* (0711, never listable) when the platform runs as
  root: the embedded PostgreSQL then runs as its own system user (``pgserver``), which must pass
  through it to reach its own 0700 data folder;
* ``site/`` (unless ``TOTALPLACE_SITE_FOLDER`` puts it elsewhere, as docker-compose does): the place
  profiles are published output made from the published marts (no raw row, no value from a rejected
  file), served by any web server.

:func:`private_dir` and :func:`write_private` are how the platform creates what it keeps, whatever
the process's umask; :func:`tighten` repairs an older state folder at ``totalplace up``;
:func:`loose_entries` is what ``totalplace status`` checks.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

from totalplace.settings import Settings

PUBLISHED = ("site",)
"""Folders of the state folder meant to be read by others (the site, with copies of the validation pages)."""


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
    """Write a file only its owner may read (0600 from the first byte, not chmod-ed afterwards), whole:
    written beside it and renamed into place, so a reader never sees it empty or half-written (the
    SFTP server's port file was once read between its creation and its write)."""
    private_dir(path.parent)
    payload = data.encode() if isinstance(data, str) else data
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path


def publish_tree(folder: Path) -> None:
    """Make published output (the site, its validation pages) readable by every user - a web server
    runs as its own - whatever the umask it was written under: folders 0755, files 0644."""
    for root, _dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)


def _reachable_entries(state: Path):
    """(path, lstat, relative path) of every entry another local user could get to by name: below
    the state folder, through folders whose mode lets others pass (an x bit for group or others).
    A 0700 folder ends the walk - nothing below it can be reached, whatever its own modes (a kept
    file hard-linked to the caller's own keeps that file's mode, and is none of our business)."""
    state_info = state.stat()
    pending = [state] if state_info.st_mode & 0o011 else []
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                rel = os.path.relpath(entry.path, state)
                if rel.split(os.sep, 1)[0] in PUBLISHED or stat.S_ISLNK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
                    continue
                yield entry.path, info, rel
                if stat.S_ISDIR(info.st_mode) and info.st_mode & 0o011:
                    pending.append(entry.path)


def _loose(info: os.stat_result) -> bool:
    """Readable, writable or listable by others (a folder others may only pass through is not)."""
    return bool(info.st_mode & (0o066 if stat.S_ISDIR(info.st_mode) else 0o077))


def tighten(settings: Settings) -> int:
    """Make every entry of the state folder that another user could reach owner-only (published
    output excepted); returns how many were changed. Run at ``totalplace up``, so a state folder made
    before this rule is repaired. What belongs to another user (the embedded PostgreSQL's own folder)
    is left to its owner, who keeps it 0700."""
    state = ensure_state_dir(settings)
    me = os.geteuid()
    changed = 0
    for path, info, _ in list(_reachable_entries(state)):
        # a file with other links is someone else's file too (ingest_local hard-links the caller's): its
        # folder, made 0700, is what keeps it private - its own mode is left as its owner set it
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            continue
        if info.st_uid == me and _loose(info):
            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
            changed += 1
    return changed


def loose_entries(settings: Settings, limit: int = 20) -> list[str]:
    """Entries another local user could read, write or list (``0o644 files/...``), at most ``limit``."""
    state = settings.state_dir
    if not state.exists():
        return []
    found = []
    mode = stat.S_IMODE(state.stat().st_mode)
    if mode & 0o066:
        found.append(f"{oct(mode)} {state}")
    for _, info, rel in _reachable_entries(state):
        if _loose(info):
            found.append(f"{oct(stat.S_IMODE(info.st_mode))} {rel}")
            if len(found) >= limit:
                break
    return found


GENERATED_LIST = "generated.sha256"
"""In the state folder: the SHA-256 of every file the platform generated for the demo, one per line.
A file received with one of these digests is entered in the ledger as synthetic, and every fact and
mart row built on it says so: generated extracts are never taken for received data."""


def mark_generated(settings: Settings, path: Path) -> Path:
    """Record ``path`` as generated (see GENERATED_LIST); returns it."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    listed = settings.state_dir / GENERATED_LIST
    if digest not in generated_files(settings):
        with listed.open("a", encoding="ascii") as fh:
            fh.write(digest + "\n")
        listed.chmod(0o600)
    return path


def generated_files(settings: Settings) -> set[str]:
    """The digests of the files the platform generated (empty when it generated none)."""
    try:
        return set((settings.state_dir / GENERATED_LIST).read_text(encoding="ascii").split())
    except FileNotFoundError:
        return set()
