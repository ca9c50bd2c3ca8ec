"""The platform's own SFTP drop server (asyncssh), for laptops, demos and tests.

One account per agency, each confined to ``<sftp root>/<agency>/`` holding ``inbox/<feed>/`` (the
partner uploads there) and ``outbox/`` (reports come back there). The confinement is asyncssh's
virtual chroot plus two refusals of our own: no symlink or hard-link creation, and every path is
resolved on disk and refused if it lands outside the account's folder - so a symlink planted by
someone with shell access cannot be followed out either.

Hardening for an internet-facing drop: password or public-key authentication (a key in
``<sftp>/authorized_keys/<account>.pub``); a file may not grow past ``sftp_max_file_bytes``; only
extensions on the allow-list may be written (``sftp_allowed_extensions``, plus the ``.part`` and
``.done`` suffixes of the upload protocol); and after ``FAILED_LOGINS_ALLOWED`` failed logins in
``LOCKOUT_SECONDS`` an account (from that address) is locked out for as long, each failure
answered after a pause. Production uses OpenSSH's internal-sftp
with ChrootDirectory instead (docker-compose.yml); the folder layout is the same.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from totalplace.settings import AGENCIES, Settings

log = logging.getLogger(__name__)


def ensure_accounts(settings: Settings, feeds_by_agency: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Create missing agency folders and passwords; returns {account: password}.

    Passwords are generated once into the credentials file (mode 0600) and never printed unless
    asked for (``totalplace status --show-credentials``).
    """
    settings.sftp_dir.mkdir(parents=True, exist_ok=True)
    creds_file = settings.credentials_file
    creds: dict[str, str] = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    changed = False
    for agency in AGENCIES:
        if agency not in creds:
            creds[agency] = secrets.token_urlsafe(18)
            changed = True
        home = settings.sftp_root / agency
        (home / "outbox").mkdir(parents=True, exist_ok=True)
        (home / "inbox").mkdir(parents=True, exist_ok=True)
        for feed in (feeds_by_agency or {}).get(agency, []):
            (home / "inbox" / feed).mkdir(parents=True, exist_ok=True)
    if changed:
        creds_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(creds_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(creds, fh, indent=2)
    return creds


FAILED_LOGINS_ALLOWED = 5
LOCKOUT_SECONDS = 300.0
FAILURE_PAUSE_SECONDS = 1.0


class LoginThrottle:
    """Failed logins per (account, address) in a sliding window; locked out once over the limit."""

    def __init__(self, allowed: int = FAILED_LOGINS_ALLOWED, window: float = LOCKOUT_SECONDS):
        self.allowed, self.window = allowed, window
        self.failures: dict[tuple[str, str], list[float]] = {}

    def _recent(self, key: tuple[str, str]) -> list[float]:
        now = time.monotonic()
        recent = [t for t in self.failures.get(key, []) if now - t < self.window]
        self.failures[key] = recent
        return recent

    def locked(self, key: tuple[str, str]) -> bool:
        return len(self._recent(key)) >= self.allowed

    def failed(self, key: tuple[str, str]) -> None:
        self._recent(key).append(time.monotonic())


def upload_allowed(path: bytes, extensions: tuple[str, ...]) -> bool:
    """May a partner write this name? Reports in outbox/; in inbox/ only data files on the allow-list,
    as themselves, as ``.part`` while uploading, or as a ``.done`` marker."""
    name = path.decode(errors="replace").rsplit("/", 1)[-1].lower()
    for suffix in (".part", ".done"):
        name = name.removesuffix(suffix)
    allowed = (".json", ".txt", ".csv") if b"/outbox/" in path or path.startswith(b"outbox/") else extensions
    return name.endswith(tuple(e.lower() for e in allowed))


def _make_server_classes(root: Path, users: dict[str, str], keys_dir: Path | None,
                         max_bytes: int = 2**40, extensions: tuple[str, ...] = (".csv",)):
    import asyncssh

    throttle = LoginThrottle()

    class DropServer(asyncssh.SSHServer):
        def connection_made(self, conn):  # noqa: D401 - asyncssh callback
            self._conn = conn
            peer = conn.get_extra_info("peername")
            self._address = str(peer[0]) if peer else "?"

        def begin_auth(self, username: str) -> bool:
            if keys_dir is not None and (keys_dir / f"{username}.pub").exists():
                self._conn.set_authorized_keys(str(keys_dir / f"{username}.pub"))
            return True  # always require authentication

        def password_auth_supported(self) -> bool:
            return True

        async def validate_password(self, username: str, password: str) -> bool:
            key = (username, self._address)
            if throttle.locked(key):
                log.warning("login refused: %s from %s is locked out after %d failed logins",
                            username, self._address, FAILED_LOGINS_ALLOWED)
                await asyncio.sleep(FAILURE_PAUSE_SECONDS)
                return False
            expected = users.get(username)
            if expected is not None and hmac.compare_digest(expected.encode(), password.encode()):
                return True
            throttle.failed(key)
            log.warning("failed login for %s from %s", username, self._address)
            await asyncio.sleep(FAILURE_PAUSE_SECONDS)
            return False

    class ChrootSFTP(asyncssh.SFTPServer):
        def __init__(self, chan):
            self._home = (root / chan.get_extra_info("username")).resolve()
            self._home.mkdir(parents=True, exist_ok=True)
            super().__init__(chan, chroot=str(self._home).encode())

        def map_path(self, path: bytes) -> bytes:
            mapped = super().map_path(path)
            real = os.path.realpath(mapped)
            home = str(self._home).encode()
            if real != home and not real.startswith(home + b"/"):
                raise asyncssh.SFTPNoSuchFile("No such file")
            return mapped

        def open(self, path, pflags, attrs):
            if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_APPEND) and \
                    not upload_allowed(path, extensions):
                raise asyncssh.SFTPPermissionDenied(
                    f"only {', '.join(extensions)} files may be uploaded (with .part / .done suffixes)")
            return super().open(path, pflags, attrs)

        def write(self, file_obj, offset, data):
            if offset + len(data) > max_bytes:
                file_obj.truncate(0)  # nothing half-written is left to be taken for a file
                raise asyncssh.SFTPQuotaExceeded(f"a file may be at most {max_bytes:,} bytes")
            return super().write(file_obj, offset, data)

        def rename(self, oldpath, newpath):
            if not upload_allowed(newpath, extensions):
                raise asyncssh.SFTPPermissionDenied(f"only {', '.join(extensions)} files may be uploaded")
            return super().rename(oldpath, newpath)

        def posix_rename(self, oldpath, newpath):
            if not upload_allowed(newpath, extensions):
                raise asyncssh.SFTPPermissionDenied(f"only {', '.join(extensions)} files may be uploaded")
            return super().posix_rename(oldpath, newpath)

        def symlink(self, oldpath, newpath):
            raise asyncssh.SFTPOpUnsupported("symlinks are not allowed")

        def link(self, oldpath, newpath):
            raise asyncssh.SFTPOpUnsupported("links are not allowed")

    return DropServer, ChrootSFTP


async def serve(settings: Settings) -> None:
    import asyncssh

    users = ensure_accounts(settings)
    if not settings.sftp_host_key.exists():
        asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(settings.sftp_host_key))
        settings.sftp_host_key.chmod(0o600)
    keys_dir = settings.sftp_dir / "authorized_keys"
    server_cls, sftp_cls = _make_server_classes(settings.sftp_root.resolve(), users, keys_dir,
                                                settings.sftp_max_file_bytes, tuple(settings.sftp_allowed_extensions))
    server = await asyncssh.listen(
        settings.sftp_host,
        settings.sftp_port,
        server_host_keys=[str(settings.sftp_host_key)],
        server_factory=server_cls,
        sftp_factory=sftp_cls,
        allow_scp=False,
        process_factory=None,
        encoding=None,
    )
    port = server.sockets[0].getsockname()[1]
    settings.sftp_port_file.write_text(str(port))
    settings.sftp_pid_file.write_text(str(os.getpid()))
    log.info("SFTP listening on %s:%s (pid %s)", settings.sftp_host, port, os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    settings.sftp_port_file.unlink(missing_ok=True)
    settings.sftp_pid_file.unlink(missing_ok=True)


def _pid(settings: Settings) -> int | None:
    try:
        pid = int(settings.sftp_pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; reaps it if it is our own exited child (a zombie answers kill 0)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def is_running(settings: Settings) -> bool:
    return _pid(settings) is not None


def start_background(settings: Settings, timeout: float = 20.0) -> int:
    """Start the server as a detached process (its own session) and wait for its port."""
    if _pid(settings) is not None:
        return settings.resolved_sftp_port()
    settings.sftp_dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.sftp_port_file.unlink(missing_ok=True)
    env = dict(os.environ, TOTALPLACE_STATE_DIR=str(settings.state_dir))
    if settings.sftp_port:
        env["TOTALPLACE_SFTP_PORT"] = str(settings.sftp_port)
    env["TOTALPLACE_SFTP_MAX_FILE_BYTES"] = str(settings.sftp_max_file_bytes)
    env["TOTALPLACE_SFTP_ALLOWED_EXTENSIONS"] = json.dumps(settings.sftp_allowed_extensions)
    with (settings.logs_dir / "sftp.log").open("ab") as logfh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "totalplace.sftp_server"],
            stdout=logfh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"SFTP server exited at start; see {settings.logs_dir / 'sftp.log'}")
        if settings.sftp_port_file.exists() and _pid(settings) is not None:
            return int(settings.sftp_port_file.read_text())
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("SFTP server did not start in time")


def stop_background(settings: Settings, timeout: float = 10.0) -> bool:
    pid = _pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        _alive(pid)
    settings.sftp_pid_file.unlink(missing_ok=True)
    settings.sftp_port_file.unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Total Place SFTP drop server in the foreground.")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(Settings()))


if __name__ == "__main__":
    main()
