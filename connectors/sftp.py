"""SFTP client side: what the connector and ``totalplace drop`` do on a partner body's account
(partners.yml: one account per body).

Completeness rule (what senders must know, also in the README):
  * upload as ``name.part`` and rename when done - ``.part`` files are never taken;
  * or put a ``name.done`` beside ``name`` once it is complete - taken at once; the marker may be
    empty or a manifest (JSON ``{"sha256": ..., "bytes": ..., "rows": ...}`` or ``key=value`` lines,
    any of the three): a file that does not match its manifest is quarantined, not loaded;
  * otherwise a file is taken when its size and modification time are the same in two listings
    ``TOTALPLACE_SFTP_SETTLE_SECONDS`` apart.
Names starting with ``.`` are ignored. Once a file has an outcome in the ledger it is removed
from the inbox and a report named after it appears in ``outbox/<feed>/``.

Names are read as the bytes the server sends (``connectors.names``): a name that is not text (not
UTF-8, or with control characters) is listed, fetched and quarantined by itself like any other file,
instead of stopping the listing - and with it every partner's run.

The platform's connector logs in with the platform's own key (:func:`open_service`), which no
lockout of a partner's password applies to; ``totalplace drop`` and the tests log in as a partner
would (:func:`open_account`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR
from paramiko.sftp_attr import SFTPAttributes

from connectors.names import clean_name, display_name
from totalplace.settings import Settings

PART_SUFFIX = ".part"
DONE_SUFFIX = ".done"


@dataclass(frozen=True)
class RemoteFile:
    feed: str
    name: str
    """The name to show and record: the file's own, or a readable stand-in for one that is not text."""
    size: int
    mtime: int
    has_marker: bool
    raw: bytes = b""
    """The name exactly as on the server (bytes), used to fetch and remove it."""

    @property
    def path(self) -> bytes:
        return b"/".join((b"inbox", self.feed.encode(), self.raw or self.name.encode()))

    @property
    def clean(self) -> bool:
        return clean_name(self.raw or self.name.encode()) is not None


def credentials(settings: Settings) -> dict[str, str]:
    try:
        return json.loads(settings.credentials_file.read_text())
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"No SFTP credentials at {settings.credentials_file}. Start the local server with `totalplace up`."
        ) from exc


class SftpAccount:
    """An open SFTP session as one partner body's account."""

    def __init__(self, client: paramiko.SSHClient, account: str):
        self._client = client
        self.account = account
        self.sftp = client.open_sftp()
        # a server that stops answering fails a request after a minute instead of hanging its caller (the
        # watcher keeps sessions open for hours); keepalives find a dead connection between polls
        self.sftp.get_channel().settimeout(60)
        client.get_transport().set_keepalive(30)

    # ---- listing and the completeness rule ----
    def list_bytes(self, path: str | bytes) -> dict[bytes, SFTPAttributes]:
        """{name as bytes: attributes} of a folder, '.' and '..' left out.

        paramiko's ``listdir_attr`` decodes every name as UTF-8 and raises on the first that is not,
        so one partner's odd file name stopped every listing: this reads the same SFTP messages and
        keeps the names as the bytes they are (and closes the handle whatever happens)."""
        t, msg = self.sftp._request(CMD_OPENDIR, path if isinstance(path, bytes) else path.encode())
        if t != CMD_HANDLE:
            raise paramiko.SFTPError("Expected handle")
        handle = msg.get_binary()
        entries: dict[bytes, SFTPAttributes] = {}
        try:
            while True:
                try:
                    t, msg = self.sftp._request(CMD_READDIR, handle)
                except EOFError:
                    break
                if t != CMD_NAME:
                    raise paramiko.SFTPError("Expected name response")
                for _ in range(msg.get_int()):
                    name = msg.get_binary()
                    msg.get_binary()  # the "longname", ls -l style: not needed
                    attrs = SFTPAttributes._from_msg(msg)
                    if name not in (b".", b".."):
                        entries[name] = attrs
        finally:
            self.sftp._request(CMD_CLOSE, handle)
        return entries

    def _listing(self, feed: str) -> dict[bytes, SFTPAttributes]:
        try:
            entries = self.list_bytes(posixpath.join("inbox", feed))
        except FileNotFoundError:
            return {}
        return {n: e for n, e in entries.items() if e.st_mode is not None and stat.S_ISREG(e.st_mode)}

    @staticmethod
    def _candidates(names) -> set[bytes]:
        return {n for n in names if not n.startswith(b".") and not n.endswith((b".part", b".done"))}

    def list_complete(self, feed: str, settle_seconds: float) -> list[RemoteFile]:
        """Files in ``inbox/<feed>/`` that are complete by the rule above, oldest first."""
        first = self._listing(feed)
        names = self._candidates(first)
        marked = {n for n in names if n + b".done" in first}
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
                complete.append(RemoteFile(feed, display_name(name), att.st_size or 0, att.st_mtime or 0,
                                           name in marked, raw=name))
        return sorted(complete, key=lambda f: (f.mtime, f.name))

    def waiting(self, feed: str) -> dict[str, tuple[int, float, bool]]:
        """Files waiting in ``inbox/<feed>/`` (uploads in progress and dot files left out): name ->
        (size, modification time, whether its ``.done`` marker is there). One listing, no waiting: a
        watcher that polls decides completeness over its polls, by the rule of ``list_complete``."""
        listing = self._listing(feed)
        return {display_name(n): (listing[n].st_size or 0, listing[n].st_mtime or 0, n + b".done" in listing)
                for n in self._candidates(listing)}

    def folder_mtime(self, path: str) -> int | None:
        """A folder's modification time as the server gives it (whole seconds): it moves when a file in
        it is added, renamed or removed - one request, where a listing is several."""
        return self.sftp.stat(path).st_mtime

    # ---- transfer ----
    def download(self, remote: RemoteFile, local: Path) -> tuple[str, int]:
        """Copy a remote file to ``local`` while hashing it; returns (sha256, bytes)."""
        from totalplace.state import private_dir

        digest = hashlib.sha256()
        size = 0
        private_dir(local.parent)
        fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a partner's extract: owner-only
        with self.sftp.open(remote.path, "rb") as src, os.fdopen(fd, "wb") as dst:
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
            with self.sftp.open(remote.path + b".done", "rb") as fh:
                text = fh.read(4096).decode("utf-8", errors="replace").strip()
        except FileNotFoundError:
            return None
        return parse_manifest(text)

    def remove_from_inbox(self, remote: RemoteFile) -> None:
        for path in (remote.path, remote.path + b".done"):
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
def open_account(settings: Settings, account: str, password: str | None = None) -> Iterator[SftpAccount]:
    """Log in to the SFTP server as ``account``, as the partner would (password from the credentials
    file unless given): what ``totalplace drop``, the demo and the tests' uploads do."""
    secret = password if password is not None else credentials(settings).get(account, "")
    with _session(settings, account, password=secret) as session:
        yield session


@contextmanager
def open_service(settings: Settings, account: str) -> Iterator[SftpAccount]:
    """Log in to ``account`` (a partner body's) as the platform's connector: with the platform's own key (the
    local server gives it the connector's rights - reports to the outbox, files out of the inbox - and
    no partner's failed logins lock it out). An external server without a key configured
    (``sftp_service_key_file``) is logged in to with the account's password."""
    key = settings.sftp_service_key_path
    if key.exists():
        with _session(settings, account, pkey=paramiko.Ed25519Key.from_private_key_file(str(key))) as session:
            yield session
    else:
        with _session(settings, account, password=credentials(settings).get(account, "")) as session:
            yield session


@contextmanager
def _session(settings: Settings, account: str, **auth) -> Iterator[SftpAccount]:
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
    try:
        client.connect(
            settings.sftp_host,
            port=settings.resolved_sftp_port(),
            username=account,
            look_for_keys=False,
            allow_agent=False,
            timeout=15,
            **auth,
        )
        session = SftpAccount(client, account)
    except BaseException:
        client.close()  # a refused login leaves no transport thread behind
        raise
    try:
        yield session
    finally:
        session.close()


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
