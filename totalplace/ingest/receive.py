"""Receive: take complete files from the partners' SFTP inboxes into the ledger and the platform's copy.

Stage 1 of ingest. A file is taken once its upload is complete (its ``.done`` marker, or a size that
has settled), entered in ``ops.file_ledger`` as sent by the body whose account it came from
(partners.yml decides, never a guess), kept under its file id, and only then removed from the inbox.
A file whose content was already decided is answered at once as a duplicate; one whose name or
manifest is wrong is quarantined by itself. The agreement a file is shared under is decided here too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from connectors.names import IDENTIFIER_IN_NAME, NAME_PROBLEM, withhold_identifiers
from connectors.sftp import RemoteFile, SftpAccount, open_service
from totalplace.contracts import Contract
from totalplace.ingest import ledger
from totalplace.ingest.kept import discard_kept, keep
from totalplace.ingest.outbox import send_report
from totalplace.ingest.pseudonymise import load_key, load_postcode_lookup
from totalplace.ingest.quarantine import quarantine
from totalplace.ingest.tables import landing_table, prepare
from totalplace.mappings import load_mapping
from totalplace.reports import Problem, Rejected, build_report
from totalplace.settings import Settings
from totalplace.state import generated_files
from totalplace.warehouse import connect, pipeline_url

log = logging.getLogger(__name__)
T = TypeVar("T")


def fetch(settings: Settings, contract: Contract, accounts: set[str] | None = None) -> list[int]:
    """Download every complete file in ``inbox/<feed>/``, enter it in the ledger, clear the inbox.

    Returns the files to load: the new ones plus any a previous run left unfinished. A file whose
    content was already decided is entered as ``duplicate`` and answered at once. The sending bodies'
    inboxes are taken side by side (``sftp_parallel_sessions`` at once; each body's files in order);
    ``accounts`` narrows them to those the inbox watcher announced files in - one login, not three
    hundred, for one council's file - when they are few (no more than ``sftp_parallel_sessions``). An
    inbox that cannot be reached does not keep the others' files back: they are taken and go on, and an alert names it (its files wait for the watcher's next
    announcement or the hourly sweep).
    """
    from totalplace.partners import registry

    url = prepare(settings, contract)
    if accounts is not None and len(accounts) > settings.sftp_parallel_sessions:
        # a busy feed: every sender's inbox, in one go. Airflow gives a run only the events up to the first
        # one queued for it, so at such times announced files are missing from the run's events - and the
        # inboxes listed side by side cost about one round more than those announced (measured: a month
        # of 300 councils' files took 644 s narrowed, with files waiting for their next announcement)
        accounts = None
    senders = [p.account for p in registry(settings).sending(contract.agency, contract.feed)
               if p.account is not None and (accounts is None or p.account in accounts)]

    def take(account_name: str) -> list[int]:
        taken: list[int] = []
        with open_service(settings, account_name) as account:
            for remote in account.list_complete(contract.feed, settings.sftp_settle_seconds):
                try:
                    taken.extend(_fetch_one(settings, contract, url, account, remote))
                except PermissionError as exc:
                    # a file the server may not read (put there by hand, not uploaded): the others go on
                    from totalplace.alerts import alert

                    alert(settings, "file_unreadable", f"{remote.name} in {account_name}:inbox/{contract.feed}/ "
                          f"cannot be read by the SFTP server ({exc}); it was left in place - give it to the "
                          "server's user, or run `totalplace up`, which does", feed=contract.key, name=remote.name)
        return taken

    results = each_account(settings, senders, take)
    with connect(url) as conn:
        pending = ledger.pending_for_feed(conn, contract.agency, contract.feed)
    failed = {a: r for a, r in results.items() if isinstance(r, BaseException)}
    if failed:
        # the others' files go on through this run; the watcher announces what waits again (and the sweep)
        from totalplace.alerts import alert

        alert(settings, "inbox_unreachable", f"could not take the files of {contract.key} from "
              f"{', '.join(sorted(failed))}: " + "; ".join(f"{a}: {failed[a]}" for a in sorted(failed))[:500]
              + f" - the files of the other {len(results) - len(failed)} inboxes were taken", feed=contract.key,
              accounts=sorted(failed))
    return sorted(set(pending).union(*(r for r in results.values() if not isinstance(r, BaseException))))


def each_account(settings: Settings, accounts: list[str], work: Callable[[str], T]) -> dict[str, T | Exception]:
    """``work(account)`` for every account, ``sftp_parallel_sessions`` at a time: {account: its result,
    or the exception it raised} - one account's trouble neither stops nor delays the others. (Each
    call is a login and a few requests that mostly wait on the network: threads overlap the waits.)"""
    def guarded(account: str) -> T | Exception:
        try:
            return work(account)
        except Exception as exc:  # noqa: BLE001 - returned to the caller, which decides
            log.warning("inbox of %s: %s", account, exc, exc_info=True)
            return exc

    if len(accounts) <= 1:
        return {a: guarded(a) for a in accounts}
    with ThreadPoolExecutor(min(settings.sftp_parallel_sessions, len(accounts)),
                            thread_name_prefix="sftp") as pool:
        return dict(zip(accounts, pool.map(guarded, accounts), strict=True))


def waiting_files(settings: Settings) -> dict[str, dict[str, tuple[int, float, bool]]]:
    """Every file waiting in a partner's inbox, by feed key: one look, as the sweep and ``totalplace
    run`` take it (the watcher keeps its lister, and its sessions, between polls)."""
    once = InboxLister(settings)
    try:
        return once()
    finally:
        once.close()


def announced_accounts(extras: list[dict | None]) -> set[str] | None:
    """The accounts the inbox watcher announced files in, from the ``extra`` of the asset events that
    started a run (``{"payload": {"files": ["<account>/<name>", ...]}}``); None - every sending
    account - when the run was not started by the watcher alone (a sweep, a manual run, an event
    made by hand)."""
    accounts: set[str] = set()
    for extra in extras:
        payload = (extra or {}).get("payload") if isinstance(extra, dict) else None
        files = payload.get("files") if isinstance(payload, dict) else None
        if not isinstance(files, list) or not files or not all(isinstance(f, str) and "/" in f for f in files):
            return None  # not the watcher's own announcement: nothing to narrow by
        accounts |= {f.split("/", 1)[0] for f in files}
    return accounts or None


def _fetch_one(settings: Settings, contract: Contract, url: str, account: SftpAccount, remote: RemoteFile) -> list[int]:
    # the name as it will be recorded, shown and reported: without what looks like a person identifier
    name = withhold_identifiers(remote.name, person_level=bool(contract.person_identifiers))
    incoming = settings.files_dir / contract.agency / contract.feed / ".incoming" / f"{os.getpid()}-{os.urandom(8).hex()}"
    sha256, size = account.download(remote, incoming)
    manifest = account.read_manifest(remote)
    with connect(url) as conn:
        entry = record_and_keep(conn, settings, contract, incoming, name, sha256, size, move=True,
                                account=account.account)
        if manifest and entry.status == "received":
            conn.execute("update ops.file_ledger set report = %s where file_id = %s",
                         (json.dumps({"manifest": manifest}), entry.file_id))
    # the ledger row is committed and the bytes are ours: the inbox copy can go
    account.remove_from_inbox(remote)
    wrong = manifest_problems(manifest, sha256=sha256, size=size) if entry.status == "received" else []
    if not remote.clean and entry.status == "received":
        # quarantined by itself: a name that is not text stops nothing else (finding of the attack suite)
        wrong = [Problem(check="file_name", rule=NAME_PROBLEM), *wrong]
    if name != remote.name and entry.status == "received":
        wrong = [Problem(check="file_name", rule=IDENTIFIER_IN_NAME), *wrong]
    if wrong:
        quarantine(settings, contract, url, entry, landing_table(contract, entry.file_id), wrong, rows=None)
        return []
    log.info("received %s/%s as file %s (%s, %d bytes)", contract.key, name, entry.file_id, entry.status, size)
    if entry.status == "duplicate":
        report = build_report(outcome="duplicate", agency=contract.agency, feed=contract.feed, name=name,
                              file_id=entry.file_id, sha256=sha256, rows=0, note=entry.error)
        send_report(settings, account.account, contract.feed, name, report, account)
        if contract.person_identifiers:
            discard_kept(settings, contract, entry.file_id, name)
        return []
    return [entry.file_id]


def shares(settings: Settings, file_ids: list[int], count: int) -> list[list[int]]:
    """``file_ids`` dealt into at most ``count`` shares that workers take side by side - every file of one
    sending body in the same share, oldest first, so a correction is always published after what it
    corrects (two shares would race); no empty share."""
    if not file_ids:
        return []
    with connect(pipeline_url(settings, "loader")) as conn:
        senders = dict(conn.execute("select file_id, coalesce(sent_by, '') from ops.file_ledger "
                                    "where file_id = any(%s)", (file_ids,)).fetchall())
    by_sender: dict[str, list[int]] = {}
    for file_id in sorted(file_ids):
        by_sender.setdefault(senders.get(file_id, ""), []).append(file_id)
    dealt: list[list[int]] = [[] for _ in range(max(1, min(count, len(by_sender))))]
    for group in sorted(by_sender.values(), key=len, reverse=True):
        min(dealt, key=len).extend(group)  # the biggest senders first, each to the lightest share
    return [sorted(share) for share in dealt]


FileState = tuple[int, float, bool]
"""(size, modification time, whether its ``.done`` marker is there) of a file waiting in an inbox."""

SAME_SECOND = 1.1
"""SFTP gives a folder's modification time in whole seconds: a listing is trusted to stand for the folder
while its time stays the same only once it was made more than this long after that time was first seen
(a change in the same second as the listing would not move it)."""

RELIST_SECONDS = 60.0
"""Every folder is listed again at least this often, whatever its time says (a server whose folders'
times do not move when a file arrives is then a minute late, not blind)."""


@dataclass
class _Folder:
    """What the last listing of one inbox folder found, and when."""

    mtime: int | None
    files: dict[str, FileState]
    changed_at: float
    """When (monotonic) the folder was first seen with this modification time."""
    listed_at: float
    """When (monotonic) the listing began."""

    def stands(self, mtime: int | None, now: float) -> bool:
        """The listing still says what the folder holds: its time has not moved since a listing made a
        second after that time, no file in it may still be growing (one without a ``.done`` marker is
        watched until it is taken), and it is not due for its periodic listing."""
        return (mtime == self.mtime and self.listed_at - self.changed_at >= SAME_SECOND
                and now - self.listed_at < RELIST_SECONDS and all(marked for *_, marked in self.files.values()))


class InboxLister:
    """Every file waiting in the inboxes of the bodies of partners.yml, by feed key - ``{"<agency>__<feed>":
    {"<account>/<name>": (size, mtime, marked done)}}`` - for the triggerer's watcher
    (``totalplace.airflow_triggers``), which decides when each is complete. Called every second or two
    for hundreds of accounts, it asks as little as it can: one SFTP session per account kept open between
    calls (not a login per account per poll), the accounts worked side by side (``each_account``), and a
    folder listed again only when its modification time moved (a file added, renamed or removed) or a
    file in it may still be growing - otherwise one ``stat`` per folder stands for its listing. A session
    that fails is closed and opened again at the next call."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.sessions: dict[str, tuple[object, SftpAccount]] = {}
        self._lock = threading.Lock()
        self._folders: dict[tuple[str, str], _Folder] = {}
        self.accounts = 0
        """Sending accounts at the last call."""
        self.unreachable: set[str] = set()
        """Accounts the last call could not list (logged; tried again at the next)."""
        self.listed = 0
        """Folders the last call listed (the others stood on their last listing)."""

    def __call__(self) -> dict[str, dict[str, FileState]]:
        from totalplace.partners import registry

        senders = registry(self.settings).senders
        feeds = {p.account: (p.agency_type, sorted(p.feeds)) for p in senders}
        listed = [0]

        def waiting(account_name: str) -> dict[str, dict[str, FileState]]:
            try:
                session = self._session(account_name)
                found = {}
                for feed in feeds[account_name][1]:
                    folder = self._folder(session, account_name, feed, listed)
                    if folder is not None and folder.files:
                        found[feed] = folder.files
                return found
            except Exception:
                self._close(account_name)
                raise

        for gone in set(self.sessions) - set(feeds):  # a body taken out of partners.yml: logged out
            self._close(gone)
        self._folders = {key: folder for key, folder in self._folders.items() if key[0] in feeds}
        found: dict[str, dict[str, FileState]] = {}
        results = each_account(self.settings, list(feeds), waiting)
        self.accounts, self.listed = len(results), listed[0]
        self.unreachable = {a for a, r in results.items() if isinstance(r, BaseException)}
        for account_name, files_by_feed in results.items():
            if isinstance(files_by_feed, BaseException):
                continue  # logged; tried again at the next poll, the other accounts are listed
            for feed, files in files_by_feed.items():
                found.setdefault(f"{feeds[account_name][0]}__{feed}", {}).update(
                    {f"{account_name}/{name}": state for name, state in files.items()})
        return found

    def _folder(self, session: SftpAccount, account: str, feed: str, listed: list[int]) -> _Folder | None:
        """``inbox/<feed>/`` of one account: its last listing if that still stands, else a new one."""
        key = (account, feed)
        try:
            mtime = session.folder_mtime(f"inbox/{feed}")
        except FileNotFoundError:
            self._folders.pop(key, None)
            return None
        now = time.monotonic()
        before = self._folders.get(key)
        if before is not None and before.stands(mtime, now):
            return before
        changed_at = before.changed_at if before is not None and before.mtime == mtime else now
        folder = _Folder(mtime, session.waiting(feed), changed_at, now)
        self._folders[key] = folder  # one thread per account: no two write the same key
        with self._lock:
            listed[0] += 1
        return folder

    def _session(self, account: str) -> SftpAccount:
        with self._lock:
            held = self.sessions.get(account)
        if held is None:
            opened = open_service(self.settings, account)
            held = (opened, opened.__enter__())
            with self._lock:
                self.sessions[account] = held
        return held[1]

    def _close(self, account: str) -> None:
        with self._lock:
            opened, _ = self.sessions.pop(account, (None, None))
        if opened is not None:
            try:
                opened.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - closing a session that already broke
                log.debug("closing %s's session failed", account, exc_info=True)

    def close(self) -> None:
        for account in list(self.sessions):
            self._close(account)


def manifest_problems(manifest: dict | None, *, sha256: str | None = None, size: int | None = None,
                      rows: int | None = None) -> list[Problem]:
    """Where a file differs from the manifest its sender put in the ``.done`` marker."""
    problems = []
    for key, actual, what in (("sha256", sha256, "SHA-256"), ("bytes", size, "size in bytes"),
                              ("rows", rows, "number of data rows")):
        expected = (manifest or {}).get(key)
        if expected is not None and actual is not None and expected != actual:
            problems.append(Problem(check="manifest", rule=f"the manifest (.done) gives the {what} as {expected}, but "
                                    f"the file received has {actual}: it was damaged or cut short on the way - "
                                    "send it again"))
    return problems


def record_and_keep(conn, settings: Settings, contract: Contract, source: Path, name: str, sha256: str, size: int,
                    *, move: bool, account: str | None = None, sent_by: str | None = None) -> ledger.LedgerEntry:
    """Enter a file in the ledger and put its bytes in the platform's store (``kept``) under its id.

    ``move`` takes the source (a download); otherwise it is hard-linked, or copied across disks.
    """
    entry = ledger.record_received(conn, agency=contract.agency, feed=contract.feed, name=name, sha256=sha256,
                                   size=size, sent_by=sent_by or sender(settings, contract, account), account=account,
                                   publisher=contract.publisher or None, synthetic=sha256 in generated_files(settings))
    keep(settings, contract, entry.file_id, name, source, move=move)
    return entry


def sender(settings: Settings, contract: Contract, account: str | None) -> str:
    """The partner body sending this feed from ``account`` (partners.yml) - the one rule the run, a
    local load and ``validate`` all use. A feed several bodies send needs the account; a sender the
    registry does not know is an error, never a guess (ContractError)."""
    from totalplace.partners import registry

    return registry(settings).body_for(contract.agency, contract.feed, account)


def local_sender(settings: Settings, contract: Contract, account: str | None) -> str:
    """The body a local file (``ingest_local``, ``check_file``: the platform's own loads and tests) is
    read as: ``account``'s; without one, the feed's first body in partners.yml; for a feed no body sends
    (made up on the spot), its publisher. Partners' files never come this way: the SFTP account decides
    theirs, and ``totalplace validate`` asks for ``--as`` where several bodies send the feed."""
    from totalplace.partners import registry

    if account is not None:
        return sender(settings, contract, account)
    senders = registry(settings).sending(contract.agency, contract.feed)
    return senders[0].body if senders else contract.publisher or contract.agency


def resolve_sender(settings: Settings, contract: Contract, entry: ledger.LedgerEntry) -> str | None:
    """The body of a file's account as partners.yml says now; the recorded one when it says nothing."""
    from totalplace.contracts import ContractError

    try:
        return sender(settings, contract, entry.account) if entry.account else entry.sent_by
    except ContractError:
        return entry.sent_by


@dataclass
class Sharing:
    """Under what a file is shared: the body that sent it, the data-sharing agreement it is accepted
    under, that agreement's pseudonymisation key and the postcode lookup (when the feed needs them)."""

    sent_by: str | None = None
    agreement: str | None = None
    key: bytes | None = None
    postcodes: dict[str, str] | None = None
    mapping: dict[str, str] | None = None
    """The sending partner's own column names (totalplace.mappings), normalised header -> column."""


def sharing_for(settings: Settings, contract: Contract, sent_by: str | None, day: date | None = None) -> Sharing:
    """The live agreement covering ``sent_by`` sending this feed, with its key, the postcode lookup and
    the body's own header mapping. Raises Rejected when no body is known (``sender``) or no live
    agreement covers it - both the platform's configuration, so the same bytes may be sent again."""
    from totalplace.agreements import NoAgreement, load_agreements

    if not sent_by:
        raise Rejected([Problem(check="sender", rule="the file's sending body is not known: its account is not in "
                                "partners.yml (or the file was recorded before accounts were bodies)")])
    agreements = load_agreements(settings.agreements_file)
    day = day or date.today()
    try:
        agreement = agreements.for_file(sent_by, contract.agency, contract.feed, day)
    except NoAgreement as exc:
        raise Rejected([Problem(check="data_sharing_agreement", rule=str(exc))]) from exc
    needs_postcodes = any(c.identifier == "postcode" for c in contract.columns)
    mapping, _ = load_mapping(settings.feeds_dir, contract, sent_by)
    return Sharing(
        sent_by=sent_by,
        agreement=agreement.id,
        key=load_key(settings.key_file(agreement.key_name)) if contract.person_identifiers else None,
        postcodes=load_postcode_lookup(settings.postcode_lookup_file) if needs_postcodes else None,
        mapping=mapping,
    )
