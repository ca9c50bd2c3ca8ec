"""SFTP client side: what the connector and ``totalplace drop`` do on an agency's account.

Completeness rule (what senders must know, also in the README):
  * upload as ``name.part`` and rename when done - ``.part`` files are never taken;
  * or put a ``name.done`` beside ``name`` once it is complete - taken at once; the marker may be
    empty or a manifest (JSON ``{"sha256": ..., "bytes": ..., "rows": ...}`` or ``key=value`` lines,
    any of the three): a file that does not match its manifest is quarantined, not loaded;
  * otherwise a file is taken when its size and modification time are the same in two listings
    ``TOTALPLACE_SFTP_SETTLE_SECONDS`` apart.
Names starting with ``.`` are ignored. Once a file has an outcome in the ledger it is removed
from the inbox and a report named after it appears in ``outbox/<feed>/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko

from totalplace.settings import Settings

PART_SUFFIX = ".part"
DONE_SUFFIX = ".done"


@dataclass(frozen=True)
class RemoteFile:
    feed: str
    name: str
    size: int
    mtime: int
    has_marker: bool

    @property
    def path(self) -> str:
        return posixpath.join("inbox", self.feed, self.name)


def credentials(settings: Settings) -> dict[str, str]:
    try:
        return json.loads(settings.credentials_file.read_text())
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"No SFTP credentials at {settings.credentials_file}. Start the local server with `totalplace up`."
        ) from exc


class SftpAccount:
    """An open SFTP session as one agency account."""

    def __init__(self, client: paramiko.SSHClient, agency: str):
        self._client = client
        self.agency = agency
        self.sftp = client.open_sftp()

    # ---- listing and the completeness rule ----
    def _listing(self, feed: str) -> dict[str, paramiko.SFTPAttributes]:
        try:
            entries = self.sftp.listdir_attr(posixpath.join("inbox", feed))
        except FileNotFoundError:
            return {}
        return {e.filename: e for e in entries if e.st_mode is not None and stat.S_ISREG(e.st_mode)}

    def list_complete(self, feed: str, settle_seconds: float) -> list[RemoteFile]:
        """Files in ``inbox/<feed>/`` that are complete by the rule above, oldest first."""
        first = self._listing(feed)
        names = {n for n in first if not n.startswith(".") and not n.endswith((PART_SUFFIX, DONE_SUFFIX))}
        marked = {n for n in names if n + DONE_SUFFIX in first}
        second = first
        if names - marked:
            time.sleep(settle_seconds)
            second = self._listing(feed)
        complete = []
        for name in names:
            before, after = first[name], second.get(name)
            if name in marked or (
                after is not None and (after.st_size, after.st_mtime) == (before.st_size, before.st_mtime)
            ):
                att = after or before
                complete.append(RemoteFile(feed, name, att.st_size or 0, att.st_mtime or 0, name in marked))
        return sorted(complete, key=lambda f: (f.mtime, f.name))

    def waiting_feeds(self) -> list[str]:
        """Feed folders of this account's inbox that hold at least one candidate file."""
        feeds = []
        try:
            entries = self.sftp.listdir_attr("inbox")
        except FileNotFoundError:
            return []
        for e in entries:
            if e.st_mode is not None and stat.S_ISDIR(e.st_mode):
                if any(not n.startswith(".") and not n.endswith((PART_SUFFIX, DONE_SUFFIX)) for n in self._listing(e.filename)):
                    feeds.append(e.filename)
        return sorted(feeds)

    # ---- transfer ----
    def download(self, remote: RemoteFile, local: Path) -> tuple[str, int]:
        """Copy a remote file to ``local`` while hashing it; returns (sha256, bytes)."""
        digest = hashlib.sha256()
        size = 0
        local.parent.mkdir(parents=True, exist_ok=True)
        with self.sftp.open(remote.path, "rb") as src, local.open("wb") as dst:
            src.prefetch(remote.size)
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def read_manifest(self, remote: RemoteFile) -> dict[str, str | int] | None:
        """The ``.done`` marker's manifest (sha256, bytes, rows), or None for an empty marker."""
        if not remote.has_marker:
            return None
        try:
            with self.sftp.open(remote.path + DONE_SUFFIX, "rb") as fh:
                text = fh.read(4096).decode("utf-8", errors="replace").strip()
        except FileNotFoundError:
            return None
        return parse_manifest(text)

    def remove_from_inbox(self, remote: RemoteFile) -> None:
        for path in (remote.path, remote.path + DONE_SUFFIX):
            try:
                self.sftp.remove(path)
            except FileNotFoundError:
                pass

    def upload(self, local: Path, feed: str, *, name: str | None = None, marker: bool = True) -> str:
        """Upload as a sender should: ``.part``, rename, then a ``.done`` marker holding the file's
        SHA-256 and size (so damage on the way is caught). Returns the remote path."""
        name = name or local.name
        folder = posixpath.join("inbox", feed)
        self._mkdirs(folder)
        final = posixpath.join(folder, name)
        part = final + PART_SUFFIX
        self.sftp.put(str(local), part, confirm=True)
        self.sftp.posix_rename(part, final)
        if marker:
            digest = hashlib.sha256()
            with local.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            manifest = {"sha256": digest.hexdigest(), "bytes": local.stat().st_size}
            self.write_bytes(final + DONE_SUFFIX, json.dumps(manifest).encode())
        return final

    def write_bytes(self, remote_path: str, data: bytes) -> None:
        self._mkdirs(posixpath.dirname(remote_path))
        tmp = remote_path + PART_SUFFIX
        self.sftp.putfo(io.BytesIO(data), tmp, file_size=len(data), confirm=True)
        self.sftp.posix_rename(tmp, remote_path)

    def read_bytes(self, remote_path: str) -> bytes:
        with self.sftp.open(remote_path, "rb") as fh:
            return fh.read()

    def listdir(self, path: str) -> list[str]:
        return sorted(self.sftp.listdir(path))

    def _mkdirs(self, path: str) -> None:
        current = ""
        for part in [p for p in path.split("/") if p]:
            current = posixpath.join(current, part) if current else part
            try:
                self.sftp.stat(current)
            except FileNotFoundError:
                self.sftp.mkdir(current)

    def close(self) -> None:
        self.sftp.close()
        self._client.close()


@contextmanager
def open_account(settings: Settings, agency: str, password: str | None = None) -> Iterator[SftpAccount]:
    """Log in to the SFTP server as ``agency`` (password from the credentials file unless given)."""
    client = paramiko.SSHClient()
    if settings.sftp_host_key.exists():
        # our own local server: pin its host key rather than trusting whatever answers
        key = paramiko.Ed25519Key.from_private_key_file(str(settings.sftp_host_key))
        port = settings.resolved_sftp_port()
        host_id = settings.sftp_host if port == 22 else f"[{settings.sftp_host}]:{port}"
        client.get_host_keys().add(host_id, key.get_name(), key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    else:
        # an external server must be known in advance: never trust a host key on first use
        client.load_system_host_keys()
        if settings.sftp_known_hosts:
            client.load_host_keys(str(settings.sftp_known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        settings.sftp_host,
        port=settings.resolved_sftp_port(),
        username=agency,
        password=password if password is not None else credentials(settings).get(agency, ""),
        look_for_keys=False,
        allow_agent=False,
        timeout=15,
    )
    account = SftpAccount(client, agency)
    try:
        yield account
    finally:
        account.close()


MANIFEST_KEYS = ("sha256", "bytes", "rows")


def parse_manifest(text: str) -> dict[str, str | int] | None:
    """``{"sha256": ..., "bytes": n, "rows": n}`` from JSON or ``key=value`` / ``key: value`` lines.

    Unknown keys are ignored; a value that is not what its key needs is kept as text so the check
    reports it rather than the parser guessing."""
    if not text:
        return None
    try:
        raw = json.loads(text)
        items = raw.items() if isinstance(raw, dict) else []
    except json.JSONDecodeError:
        items = [tuple(part.strip() for part in line.replace(":", "=", 1).split("=", 1))
                 for line in text.splitlines() if "=" in line or ":" in line]
    manifest: dict[str, str | int] = {}
    for key, value in items:
        key = str(key).strip().lower()
        if key in MANIFEST_KEYS:
            text_value = str(value).strip()
            manifest[key] = int(text_value) if key != "sha256" and text_value.isdigit() else text_value.lower()
    return manifest or None
