"""The platform's own SFTP drop server (asyncssh), for laptops, demos and tests.

One account per agency, each confined to ``<sftp root>/<agency>/`` holding ``inbox/<feed>/`` (the
partner uploads there) and ``outbox/`` (reports come back there). Production uses OpenSSH's
internal-sftp with ChrootDirectory instead (docker-compose.yml); the folder layout is the same.

What a partner may do, and nothing more (each rule is an attack a probe of the demo made work):

* **write only** ``inbox/<feed>/<name>`` of a feed folder the platform made, judged on the path
  *after* it is normalised (``inbox/street_crime/outbox/../evil.json`` is ``inbox/evil.json``);
  rename only within that folder; no folders made or removed; the outbox is read-only for them;
* **names** that are valid UTF-8, without control or formatting characters, with an extension on the
  allow-list (plus the ``.part`` / ``.done`` of the upload protocol; a name starting with ``.`` may be
  written, as some clients do while uploading, and is never taken);
* **no attributes** but the times: ``setstat`` / ``fsetstat`` of mode, owner or size is refused, and
  a mode asked for at ``open`` is ignored - every upload is 0600, owned by the server's user;
* **no links**: no symlink or hard link is made, and every path is resolved on disk and refused if
  it lands outside the account's folder (a link planted by someone with a shell is not followed);
* a file may not grow past ``sftp_max_file_bytes``, nor be written far past its end (a "sparse" file
  of gigabytes for a few bytes sent); an inbox holds at most ``sftp_max_account_files`` files and
  ``sftp_max_account_bytes``; an account holds at most ``sftp_max_sessions_per_account`` connections;
  after ``FAILED_LOGINS_ALLOWED`` failed passwords in ``LOCKOUT_SECONDS`` an account is locked out
  *from that address* for as long;
* a connection must log in within ``LOGIN_SECONDS``, and an address may hold at most
  ``PENDING_PER_ADDRESS`` connections that have not (``PENDING_TOTAL`` in all): thousands of idle
  connections no longer lock everyone out;
* no ``copy-data`` or ``ranges`` extension: copy-data ran gigabytes of copying in one go, stalling
  every other account's session while it did.

The platform's connector logs in to each account with the platform's own key (``service_key`` in the
state's ``sftp/`` folder), which no lockout or session limit applies to and which alone may write
reports to the outbox and clear the inbox. A partner may also log in with a key of its own
(``sftp/authorized_keys/<account>.pub``).

Started as root, the server never serves as root: it reads its keys, listens, then ``chroot``s into
the SFTP root and drops to an unprivileged system user (``sftp_service_user``, created when missing),
which owns every upload. Started as anyone else it serves as that user.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import logging
import os
import posixpath
import pwd
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from connectors.names import clean_name
from totalplace.partners import registry
from totalplace.settings import Settings
from totalplace.state import ensure_state_dir, private_dir, write_private

log = logging.getLogger(__name__)

SERVER_VERSION = "4"
"""Written beside the pid when the server starts: a server of an older version still running (from
before an upgrade) is restarted by :func:`start_background` rather than served with old rules."""

FAILED_LOGINS_ALLOWED = 5
LOCKOUT_SECONDS = 300.0
FAILURE_PAUSE_SECONDS = 1.0
SERVICE_OPTION = "TOTALPLACE_RIGHTS=service"
LOGIN_SECONDS = 30
PENDING_PER_ADDRESS = 20
PENDING_TOTAL = 200
MAX_WRITE_GAP = 64 * 2**20
"""How far past a file's end a write may start: clients pipeline their writes (a few MB ahead), but a
write at 5 GiB into an empty file makes a sparse file the loader would read as gigabytes of zeros."""
UNSAFE_EXTENSIONS = (b"copy-data", b"ranges@asyncssh.com")
QUOTA_RECHECK_BYTES = 256 * 2**20
"""A session's writes re-check its account's quota this often (it is checked at each open too)."""
MAX_OPEN_FILES = 64
"""Handles one session may hold open (each is a file descriptor of the one server process)."""


# ---------------------------------------------------------------- accounts, keys, the service user
def service_ids(settings: Settings) -> tuple[int, int] | None:
    """(uid, gid) the local server serves as when started as root (the user made if missing); None
    when not root (the server then runs as whoever started it)."""
    if os.geteuid() != 0:
        return None
    name = settings.sftp_service_user
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                               "/nonexistent", "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
        try:  # another process may have made it meanwhile
            entry = pwd.getpwnam(name)
        except KeyError as exc:
            raise RuntimeError(f"the SFTP server will not serve as root, and the user {name!r} to serve as could "
                               f"not be made ({made.stderr.strip() or made.returncode}); create it, or start the "
                               "platform as an ordinary user") from exc
    if entry.pw_uid == 0:
        raise RuntimeError(f"sftp_service_user {name!r} is root; choose an unprivileged user")
    return entry.pw_uid, entry.pw_gid


def _chown(path: Path, ids: tuple[int, int] | None) -> None:
    if ids is not None:
        os.chown(path, *ids)


def ensure_accounts(settings: Settings) -> dict[str, str]:
    """Create each partner body's home (partners.yml: ``<root>/<account>/inbox/<feed>/`` for the feeds it
    sends, and its outbox), missing passwords and the platform's service key; returns {account: password}
    of the accounts the registry lists now (one a body no longer has is not served).

    Passwords are generated once into the credentials file (mode 0600) and never printed unless
    asked for (``totalplace status --show-credentials``). The homes belong to the server's user, 0700.
    """
    ensure_state_dir(settings)
    ids = service_ids(settings)
    private_dir(settings.sftp_dir)
    root = settings.sftp_root
    if not root.exists():
        root.mkdir(mode=0o700)
    # the server's chroot and everything below it belong to the server's user, 0700: nobody else gets in
    _chown(root, ids)
    root.chmod(0o700)
    keys = private_dir(settings.sftp_dir / "authorized_keys")
    _chown(keys, ids)  # read by the server after it dropped root, through a descriptor kept open
    creds_file = settings.credentials_file
    creds: dict[str, str] = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    changed = False
    feeds_by_account = registry(settings).feeds_by_account()
    for account, feeds in feeds_by_account.items():
        if account not in creds:
            creds[account] = secrets.token_urlsafe(18)
            changed = True
        home = root / account
        for folder in (home, home / "outbox", home / "inbox", *(home / "inbox" / feed for feed in feeds)):
            if not folder.exists():
                folder.mkdir(mode=0o700)
                _chown(folder, ids)
    if changed:
        write_private(creds_file, json.dumps(creds, indent=2))
    if ids is not None:
        _own_homes(root, ids)  # files put in an inbox by hand (as root) are readable by the server too
    ensure_service_key(settings)
    return {account: creds[account] for account in feeds_by_account}


def service_key_file(settings: Settings) -> Path:
    return settings.sftp_service_key_path


def ensure_service_key(settings: Settings) -> Path:
    """The private key the platform's connector logs in with (made once, 0600)."""
    import asyncssh

    path = service_key_file(settings)
    if not path.exists():
        write_private(path, asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    return path


# ---------------------------------------------------------------- what may be written where
def virtual_parts(path: bytes) -> list[bytes]:
    """The components of a client's path as the server will use it: normalised from the account's root
    (so ``inbox/x/outbox/../evil.json`` is ``inbox/x/evil.json``)."""
    return [p for p in posixpath.normpath(posixpath.join(b"/", path)).split(b"/") if p]


def upload_allowed(parts: list[bytes], extensions: tuple[str, ...]) -> str | None:
    """Why a partner may not write this (normalised) path, or None when it may: data files on the
    allow-list in ``inbox/<feed>/``, as themselves, as ``.part`` while uploading, or a ``.done`` marker."""
    if len(parts) != 3 or parts[0] != b"inbox":
        return "files may only be written in inbox/<feed>/ (the outbox is the platform's)"
    name = clean_name(parts[2])
    if name is None:
        return ("the file name must be plain text: valid UTF-8 without control characters - rename the file "
                "(letters, digits, spaces, - _ . are safe) and send it again")
    base = name.lower()
    for suffix in (".part", ".done"):
        base = base.removesuffix(suffix)
    if not base.endswith(tuple(e.lower() for e in extensions)):
        return f"only {', '.join(extensions)} files may be uploaded (with .part / .done suffixes)"
    return None


def report_allowed(parts: list[bytes]) -> str | None:
    """Why the platform's connector may not write this path: reports go to ``outbox/`` (or a feed's
    folder of it) under clean names."""
    if not 2 <= len(parts) <= 3 or parts[0] != b"outbox" or any(clean_name(p) is None for p in parts):
        return "the platform writes only reports, in outbox/<feed>/"
    return None


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


def _make_server_classes(root: bytes, users: dict[str, str], keys_fd: int | None, service_key: str,
                         max_bytes: int = 2**40, extensions: tuple[str, ...] = (".csv",), max_sessions: int = 8,
                         quota: tuple[int, int] = (2**40, 10**6)):
    """The asyncssh server and SFTP classes for accounts under ``root`` (as the serving process sees it).
    ``quota``: (bytes, files) an account's inbox may hold."""
    import asyncssh
    from asyncssh import FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_WRITE
    from asyncssh import sftp as asyncssh_sftp
    from asyncssh.constants import (
        ACE4_APPEND_DATA,
        ACE4_WRITE_DATA,
        FXF_ACCESS_DISPOSITION,
        FXF_OPEN_EXISTING,
    )

    handler = asyncssh_sftp.SFTPServerHandler  # this process serves only the drop: the class is ours to trim
    # private attributes of asyncssh (pinned in constraints.txt): an upgrade that moves them fails here, loudly
    assert isinstance(handler._extensions, list) and isinstance(handler._packet_handlers, dict)
    assert all(e in handler._packet_handlers for e in UNSAFE_EXTENSIONS), "asyncssh's SFTP handlers changed"
    handler._extensions = [e for e in handler._extensions if e[0] not in UNSAFE_EXTENSIONS]
    handler._packet_handlers = {k: v for k, v in handler._packet_handlers.items() if k not in UNSAFE_EXTENSIONS}
    throttle = LoginThrottle()
    sessions: dict[str, int] = {}
    pending: dict[str, int] = {}

    def account_keys(username: str) -> str:
        """The service key, marked as such, and the account's own keys (read at each login). A partner's
        line is parsed as a bare public key and written back without options: options in it (however
        quoted - asyncssh unquotes ``env"ironment"=...``) could otherwise claim the service's rights."""
        lines = [f'environment="{SERVICE_OPTION}" {service_key}']
        if keys_fd is not None and clean_name(username.encode()) and not username.startswith("."):
            try:
                fd = os.open(f"{username}.pub", os.O_RDONLY, dir_fd=keys_fd)
                with os.fdopen(fd) as fh:
                    text = fh.read(1 << 16)
            except OSError:
                text = ""
            for line in text.splitlines():
                try:
                    key = asyncssh.import_public_key(line.strip())
                except (asyncssh.KeyImportError, ValueError):
                    continue  # a line with options, or not a key: ignored
                lines.append(key.export_public_key().decode().strip())
        return "\n".join(lines) + "\n"

    class DropServer(asyncssh.SSHServer):
        def connection_made(self, conn):  # noqa: D401 - asyncssh callback
            self._conn = conn
            peer = conn.get_extra_info("peername")
            self._address = str(peer[0]) if peer else "?"
            self._counted: str | None = None
            self._pending = True
            pending[self._address] = pending.get(self._address, 0) + 1
            if pending[self._address] > PENDING_PER_ADDRESS or sum(pending.values()) > PENDING_TOTAL:
                log.warning("connection from %s refused: too many connections not logged in", self._address)
                conn.close()

        def _logged_in(self) -> None:
            if self._pending:
                self._pending = False
                pending[self._address] -= 1

        def connection_lost(self, exc):  # noqa: D401 - asyncssh callback
            self._logged_in()
            if self._counted is not None:
                sessions[self._counted] -= 1

        def begin_auth(self, username: str) -> bool:
            if username in users:
                self._conn.set_authorized_keys(asyncssh.import_authorized_keys(account_keys(username)))
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
                if sessions.get(username, 0) >= max_sessions:
                    log.warning("login refused: %s already holds %d sessions", username, max_sessions)
                    return False
                return True
            throttle.failed(key)
            log.warning("failed login for %s from %s", username, self._address)
            await asyncio.sleep(FAILURE_PAUSE_SECONDS)
            return False

        def auth_completed(self) -> None:
            self._logged_in()
            username = self._conn.get_extra_info("username")
            if is_service(self._conn):
                return
            if sessions.get(username, 0) >= max_sessions:  # a partner's own key: counted here instead
                self._conn.close()
                return
            sessions[username] = sessions.get(username, 0) + 1
            self._counted = username

    def is_service(conn) -> bool:
        return SERVICE_OPTION.split("=", 1)[1] == (conn.get_key_option("environment") or {}).get(
            SERVICE_OPTION.split("=", 1)[0])

    class ChrootSFTP(asyncssh.SFTPServer):
        def __init__(self, chan):
            username = chan.get_extra_info("username")
            self._account = username
            self._home = posixpath.join(root, username.encode())
            self._service = is_service(chan.get_connection())
            self._open_files = 0
            self._written = 0
            super().__init__(chan, chroot=self._home)

        # ---- containment: every path resolved on disk stays in the account's folder
        def map_path(self, path: bytes) -> bytes:
            if b"\x00" in path:
                raise asyncssh.SFTPInvalidFilename("a file name may not contain a NUL byte")
            mapped = super().map_path(path)
            real = os.path.realpath(mapped)
            if real != self._home and not real.startswith(self._home + b"/"):
                raise asyncssh.SFTPNoSuchFile("No such file")
            return mapped

        def format_user(self, uid):
            return self._account  # the server's local user names are none of the client's business

        def format_group(self, gid):
            return self._account

        # ---- writing
        def _check_write(self, path: bytes) -> None:
            parts = virtual_parts(path)
            why = report_allowed(parts) if self._service else upload_allowed(parts, extensions)
            if why is None and not self._service and not os.path.isdir(self.map_path(posixpath.join(
                    b"/", *parts[:2]))):
                why = "files may only be written in the inbox folder of a feed (inbox/<feed>/)"
            if why is not None:
                raise asyncssh.SFTPPermissionDenied(why)

        def _count_open(self, file_obj):
            self._open_files += 1
            return file_obj

        def close(self, file_obj):
            self._open_files -= 1
            return super().close(file_obj)

        def _check_handles(self) -> None:
            if self._open_files >= MAX_OPEN_FILES:
                raise asyncssh.SFTPFailure(f"at most {MAX_OPEN_FILES} files may be open at once")

        def _check_quota(self) -> None:
            if self._service:
                return
            inbox = posixpath.join(self._home, b"inbox")
            used = files = 0
            for folder, _, names in os.walk(inbox):
                for name in names:
                    try:
                        info = os.lstat(os.path.join(folder, name))
                    except OSError:
                        continue
                    used += max(info.st_size, info.st_blocks * 512)
                    files += 1
            if used >= quota[0] or files >= quota[1]:
                raise asyncssh.SFTPQuotaExceeded(
                    f"your inbox holds {files:,} files, {used:,} bytes - at most {quota[1]:,} files and {quota[0]:,} "
                    "bytes at once: wait for them to be taken, or ask the data team")

        def open(self, path, pflags, attrs):
            self._check_handles()
            if pflags & (FXF_WRITE | FXF_CREAT | FXF_APPEND | FXF_TRUNC):
                self._check_write(path)
                self._check_quota()
            # the mode a client asks for is not honoured: every file is 0600 (never set-uid, never shared)
            return self._count_open(super().open(path, pflags, asyncssh.SFTPAttrs(permissions=0o600)))

        def open56(self, path, desired_access, flags, attrs):
            if desired_access & (ACE4_WRITE_DATA | ACE4_APPEND_DATA) or \
                    (flags & FXF_ACCESS_DISPOSITION) != FXF_OPEN_EXISTING:
                self._check_write(path)
                self._check_quota()
            self._check_handles()
            return self._count_open(super().open56(path, desired_access, flags, asyncssh.SFTPAttrs(permissions=0o600)))

        def write(self, file_obj, offset, data):
            size = os.fstat(file_obj.fileno()).st_size
            # a file opened to append writes at its end whatever offset the client gives: judge both
            if max(offset, size) + len(data) > max_bytes:
                file_obj.truncate(0)  # nothing half-written is left to be taken for a file
                raise asyncssh.SFTPQuotaExceeded(f"a file may be at most {max_bytes:,} bytes")
            if offset > size + MAX_WRITE_GAP:
                raise asyncssh.SFTPPermissionDenied("writes must follow one another: this one starts "
                                                    f"{offset:,} bytes into a shorter file")
            self._written += len(data)
            if self._written > QUOTA_RECHECK_BYTES:  # many files opened while the inbox was empty still add up
                self._written = 0
                self._check_quota()
            return super().write(file_obj, offset, data)

        def _check_rename(self, oldpath: bytes, newpath: bytes) -> None:
            old, new = virtual_parts(oldpath), virtual_parts(newpath)
            self._check_write(newpath)
            if old[:-1] != new[:-1]:
                raise asyncssh.SFTPPermissionDenied("a file may only be renamed within its own folder")

        def rename(self, oldpath, newpath):
            self._check_rename(oldpath, newpath)
            return super().rename(oldpath, newpath)

        def posix_rename(self, oldpath, newpath):
            self._check_rename(oldpath, newpath)
            return super().posix_rename(oldpath, newpath)

        def remove(self, path):
            parts = virtual_parts(path)
            allowed = (len(parts) >= 3 and parts[0] in (b"inbox", b"outbox")) if self._service else \
                (len(parts) == 3 and parts[0] == b"inbox")
            if not allowed:
                raise asyncssh.SFTPPermissionDenied("only files in inbox/<feed>/ may be removed")
            return super().remove(path)

        def mkdir(self, path, attrs):
            parts = virtual_parts(path)
            if not self._service or report_allowed([*parts, b"x"]) is not None or len(parts) != 2:
                raise asyncssh.SFTPPermissionDenied("folders are made by the platform (inbox/<feed>/ for each feed)")
            return super().mkdir(path, asyncssh.SFTPAttrs(permissions=0o700))

        def rmdir(self, path):
            raise asyncssh.SFTPPermissionDenied("folders are the platform's")

        # ---- attributes: the times only
        @staticmethod
        def _only_times(attrs) -> None:
            settable = ("atime", "atime_ns", "mtime", "mtime_ns")
            asked = [name for name, value in vars(attrs).items()
                     if value is not None and value != () and value != [] and name not in settable
                     and not (name == "type" and value == asyncssh.FILEXFER_TYPE_UNKNOWN)]
            if asked:
                raise asyncssh.SFTPPermissionDenied(
                    f"only a file's times may be set ({', '.join(sorted(asked))} may not: files are 0600, "
                    "owned by the server, and grow only by writing)")

        def setstat(self, path, attrs):
            self._only_times(attrs)
            return super().setstat(path, attrs)

        def lsetstat(self, path, attrs):
            self._only_times(attrs)
            return super().lsetstat(path, attrs)

        def fsetstat(self, file_obj, attrs):
            self._only_times(attrs)
            return super().fsetstat(file_obj, attrs)

        def symlink(self, oldpath, newpath):
            raise asyncssh.SFTPOpUnsupported("symlinks are not allowed")

        def link(self, oldpath, newpath):
            raise asyncssh.SFTPOpUnsupported("links are not allowed")

    return DropServer, ChrootSFTP


def _own_homes(root: Path, ids: tuple[int, int]) -> None:
    """Give the homes and everything in them to the server's user (uploads of an older server were
    root's): folders 0700, files 0600 - nothing set-uid survives."""
    for home in root.iterdir():
        if home.is_symlink() or not home.is_dir():
            continue
        for folder, dirs, files in os.walk(home):
            for name in [*dirs, *files]:
                path = os.path.join(folder, name)
                # never through a link: the tree belongs to the server's user, who could swap one in
                os.chown(path, *ids, follow_symlinks=False)
                if not os.path.islink(path):
                    try:
                        os.chmod(path, 0o700 if name in dirs else 0o600, follow_symlinks=False)
                    except (NotImplementedError, OSError):
                        pass
        os.chown(home, *ids, follow_symlinks=False)
        os.chmod(home, 0o700, follow_symlinks=False)


async def serve(settings: Settings) -> None:
    import asyncssh

    users = ensure_accounts(settings)
    if not settings.sftp_host_key.exists():
        write_private(settings.sftp_host_key, asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    service_key = asyncssh.read_private_key(str(service_key_file(settings))).export_public_key().decode().strip()
    ids = service_ids(settings)
    root = settings.sftp_root.resolve()
    keys_fd = os.open(settings.sftp_dir / "authorized_keys", os.O_RDONLY | os.O_DIRECTORY)
    # as root, the server will serve from inside a chroot of the SFTP root: the accounts are at /<account>
    server_cls, sftp_cls = _make_server_classes(
        b"/" if ids is not None else os.fsencode(root), users, keys_fd, service_key, settings.sftp_max_file_bytes,
        tuple(settings.sftp_allowed_extensions), settings.sftp_max_sessions_per_account,
        (settings.sftp_max_account_bytes, settings.sftp_max_account_files))
    server = await asyncssh.listen(
        settings.sftp_host,
        settings.sftp_port,
        # key objects, not paths: asyncssh reloads its configuration at each login, inside the chroot
        server_host_keys=[asyncssh.read_private_key(str(settings.sftp_host_key))],
        server_factory=server_cls,
        sftp_factory=sftp_cls,
        allow_scp=False,
        process_factory=None,
        encoding=None,
        login_timeout=LOGIN_SECONDS,
    )
    port = server.sockets[0].getsockname()[1]
    # no connection is served before the next await: the chroot and the drop below come first
    if ids is not None:
        log.info("SFTP listening on %s:%s (pid %s); serving as uid %s in a chroot of %s",
                 settings.sftp_host, port, os.getpid(), ids[0], root)
    else:
        log.info("SFTP listening on %s:%s (pid %s)", settings.sftp_host, port, os.getpid())
    write_private(settings.sftp_pid_file, str(os.getpid()))
    write_private(_version_file(settings), SERVER_VERSION)
    write_private(settings.sftp_port_file, str(port))
    if ids is not None:
        os.chroot(root)
        os.chdir("/")
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    if ids is None:  # in a chroot the state folder is out of reach: stop_background removes them
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


def _version_file(settings: Settings) -> Path:
    return settings.sftp_dir / "server.version"


def is_running(settings: Settings) -> bool:
    return _pid(settings) is not None


def start_background(settings: Settings, timeout: float = 20.0) -> int:
    """Start the server as a detached process (its own session) and wait for its port."""
    if _pid(settings) is not None:
        try:
            current = _version_file(settings).read_text().strip() == SERVER_VERSION
        except FileNotFoundError:
            current = False
        if current:
            return settings.resolved_sftp_port()
        log.warning("restarting the SFTP server: the one running is of an older version of the platform")
        stop_background(settings)
    private_dir(settings.sftp_dir, settings)
    private_dir(settings.logs_dir)
    settings.sftp_port_file.unlink(missing_ok=True)
    env = dict(os.environ, TOTALPLACE_STATE_DIR=str(settings.state_dir))
    if settings.sftp_port:
        env["TOTALPLACE_SFTP_PORT"] = str(settings.sftp_port)
    env["TOTALPLACE_SFTP_MAX_FILE_BYTES"] = str(settings.sftp_max_file_bytes)
    env["TOTALPLACE_SFTP_ALLOWED_EXTENSIONS"] = json.dumps(settings.sftp_allowed_extensions)
    env["TOTALPLACE_SFTP_MAX_SESSIONS_PER_ACCOUNT"] = str(settings.sftp_max_sessions_per_account)
    env["TOTALPLACE_SFTP_MAX_ACCOUNT_BYTES"] = str(settings.sftp_max_account_bytes)
    env["TOTALPLACE_SFTP_MAX_ACCOUNT_FILES"] = str(settings.sftp_max_account_files)
    env["TOTALPLACE_SFTP_SERVICE_USER"] = settings.sftp_service_user
    fd = os.open(settings.logs_dir / "sftp.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as logfh:
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
            with contextlib.suppress(ValueError, FileNotFoundError):  # (a port file of an older writer, half written)
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
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(Settings()))


if __name__ == "__main__":
    main()
