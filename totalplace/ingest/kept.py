"""The platform's own copy of each file received, under ``files/<agency>/<feed>/<file_id>/``.

Loads, re-runs and ``reprocess`` read the copy, never the sender's inbox; retention deletes it, and
a person-level file's copy goes as soon as the file has an outcome.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from totalplace.contracts import Contract
from totalplace.settings import Settings


def local_path(settings: Settings, contract: Contract, file_id: int, name: str) -> Path:
    """Where the platform keeps a file's bytes: under its file id, by its own name when that is a short
    plain name (the ledger has the name anyway), else as ``file`` with its extension - a 250-byte name,
    or the longer stand-in of one that is not text, would not fit the filesystem's limit."""
    suffix = Path(name).suffix
    safe = name if len(name.encode()) <= 120 and "/" not in name and name not in (".", "..") else (
        "file" + (suffix if len(suffix) <= 10 and suffix[1:].isalnum() else ""))
    return settings.files_dir / contract.agency / contract.feed / str(file_id) / safe


def discard_kept(settings: Settings, contract: Contract, file_id: int, name: str) -> None:
    """Delete the platform's copy of a file (after its outcome is committed). A person-level file's copy
    goes as soon as it has an outcome: published, its rows are in the warehouse pseudonymised; a
    duplicate, the first copy's are; rejected, the sender has the file - a copy in clear on the
    platform's disk would serve nothing but a leak."""
    shutil.rmtree(local_path(settings, contract, file_id, name).parent, ignore_errors=True)


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
