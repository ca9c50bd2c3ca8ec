"""The platform's own copy of each file received, in a store every worker reaches.

Loads, re-runs and ``reprocess`` read the copy, never the sender's inbox; retention deletes it, and
a person-level file's copy goes as soon as the file has an outcome. The store is a folder (default:
``<state>/files``; any path, or ``file://`` URL, every worker mounts) or any fsspec URL
(``TOTALPLACE_FILES_STORE_URL=s3://bucket/files`` with s3fs, MinIO in compose): ``fetch`` puts a file
there under ``<agency>/<feed>/<file_id>/`` and ``load``, ``validate`` and ``reprocess`` - which may run on
another worker, with another local folder - take a local copy from it (kept in ``<state>/files`` as a
cache). With a folder as the store, the store is the local copy: nothing is copied twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from totalplace.contracts import Contract
from totalplace.settings import Settings
from totalplace.state import private_dir


def _remote(settings: Settings):
    """(fsspec filesystem, root) of a store that is not a local folder; None for a folder."""
    url = settings.files_store_url
    if not url or "://" not in url or url.startswith("file://"):
        return None
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(url)
    return fs, root.rstrip("/")


def _folder(settings: Settings) -> Path:
    """Where the bytes are on this machine: the store itself when it is a folder, else the local cache."""
    url = settings.files_store_url
    if url and _remote(settings) is None:
        return Path(url.removeprefix("file://"))
    return settings.files_dir


def _safe(name: str) -> str:
    """A file's own name when it is a short plain name (the ledger has the name anyway), else ``file`` with
    its extension - a 250-byte name, or the stand-in of one that is not text, would not fit a path."""
    suffix = Path(name).suffix
    return name if len(name.encode()) <= 120 and "/" not in name and name not in (".", "..") else (
        "file" + (suffix if len(suffix) <= 10 and suffix[1:].isalnum() else ""))


def local_path(settings: Settings, contract: Contract, file_id: int, name: str) -> Path:
    """Where a file's bytes are (or will be, once ``local_copy`` fetched them) on this machine."""
    return _folder(settings) / contract.agency / contract.feed / str(file_id) / _safe(name)


def _key(remote, contract: Contract, file_id: int, name: str) -> str:
    return "/".join((remote[1], contract.agency, contract.feed, str(file_id), _safe(name)))


def keep(settings: Settings, contract: Contract, file_id: int, name: str, source: Path, *, move: bool) -> Path:
    """Put ``source`` in the store as file ``file_id``: ``move`` takes it (a download); otherwise it is
    hard-linked, or copied across disks. Returns the local copy."""
    final = local_path(settings, contract, file_id, name)
    private_dir(final.parent, settings)
    # the folder is 0700 (a hard link to the caller's own file keeps that file's mode; nobody else gets in)
    if move:
        shutil.move(source, final)
        final.chmod(0o600)
    else:
        try:
            os.link(source, final)  # no second copy of a big file when it is on the same disk
        except OSError:
            shutil.copyfile(source, final)
            final.chmod(0o600)
    remote = _remote(settings)
    if remote is not None:
        remote[0].put_file(str(final), _key(remote, contract, file_id, name))
    return final


def local_copy(settings: Settings, contract: Contract, file_id: int, name: str) -> Path:
    """The file's bytes on this machine - fetched from the store when another worker kept them.
    Raises FileNotFoundError when the store does not have them (never kept, or discarded)."""
    final = local_path(settings, contract, file_id, name)
    remote = _remote(settings)
    if remote is not None and not final.exists():
        private_dir(final.parent, settings)
        partial = final.with_name(f".{final.name}.{os.getpid()}.part")
        remote[0].get_file(_key(remote, contract, file_id, name), str(partial))
        partial.chmod(0o600)
        partial.replace(final)
    if not final.exists():
        raise FileNotFoundError(f"file {file_id} ({name}) is not in the platform's store")
    return final


def is_kept(settings: Settings, contract: Contract, file_id: int, name: str) -> bool:
    if local_path(settings, contract, file_id, name).exists():
        return True
    remote = _remote(settings)
    return remote is not None and remote[0].exists(_key(remote, contract, file_id, name))


def discard_kept(settings: Settings, contract: Contract, file_id: int, name: str = "") -> None:
    """Delete the platform's copy of a file (after its outcome is committed), in the store and here. A
    person-level file's copy goes as soon as it has an outcome: published, its rows are in the warehouse
    pseudonymised; a duplicate, the first copy's are; rejected, the sender has the file - a copy in clear
    on the platform's disk would serve nothing but a leak."""
    discard_file(settings, contract.agency, contract.feed, file_id)


def discard_file(settings: Settings, agency: str, feed: str, file_id: int) -> None:
    """Delete file ``file_id``'s folder in the store and in this machine's cache (retention, discards)."""
    shutil.rmtree(_folder(settings) / agency / feed / str(file_id), ignore_errors=True)
    shutil.rmtree(settings.files_dir / agency / feed / str(file_id), ignore_errors=True)
    remote = _remote(settings)
    if remote is not None:
        try:
            remote[0].rm("/".join((remote[1], agency, feed, str(file_id))), recursive=True)
        except FileNotFoundError:
            pass


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
