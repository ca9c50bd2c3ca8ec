"""Event-driven intake: the triggerer watches every partner inbox and starts a feed's ingest within
seconds of a file being complete - whatever the date, not at the next tick of a schedule.

One poll of all inboxes is shared by the watchers of every feed (``shared_stream_key``): every
``poll_seconds`` the triggerer lists each sending account's inbox once, through the same SFTP
connector the ingest uses, and each feed's watcher fires when a file of its feed becomes complete
by the same rule ``fetch`` applies (its ``.done`` marker, or a size and time that did not change for
``sftp_settle_seconds``). A watcher fires for each file it has not announced (and again for one still
waiting ``REANNOUNCE_SECONDS`` later, backing off to ``REANNOUNCE_LONGEST``): the asset event starts
``ingest_<agency>__<feed>``, whose ``fetch`` takes the complete files waiting in the inboxes the run's
events name.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Hashable
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)

CLASSPATH = "totalplace.airflow_triggers.InboxTrigger"

REANNOUNCE_LONGEST = 600.0
REANNOUNCE_SECONDS = 30.0
"""A file still waiting this long after it was announced is announced again (then after twice as long,
and so on up to ten minutes: a file the ingest leaves in place - one the server may not read - does not
start a run every half minute). Airflow starts an asset-triggered
run with the events up to the first one queued for it: an event that arrives while that run waits for the
one before to finish is in neither run's events - and a run takes files only from the inboxes its events
name. Found by the national month: 160 council files announced in such a gap sat in their inboxes."""


class InboxTrigger(BaseEventTrigger):
    """Fires when a file of ``agency/feed`` is complete in a sending body's inbox."""

    def __init__(self, agency: str, feed: str, poll_seconds: float = 2.0):
        super().__init__()
        self.agency, self.feed, self.poll_seconds = agency, feed, float(poll_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {"agency": self.agency, "feed": self.feed, "poll_seconds": self.poll_seconds}

    def shared_stream_key(self) -> Hashable | None:
        return ("totalplace-inboxes", self.poll_seconds)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        async for snapshot in _snapshots(float(kwargs.get("poll_seconds", 2.0))):
            yield snapshot

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        announced: dict[str, tuple[float, float]] = {}  # file -> (when it was last announced, wait before the next)
        async for complete in shared_stream:
            now = time.monotonic()
            mine = set(complete.get(f"{self.agency}__{self.feed}", ()))
            # a file taken leaves the inbox, and is forgotten here too
            announced = {name: seen for name, seen in announced.items() if name in mine}
            due = sorted(name for name in mine if name not in announced or now - announced[name][0] >= announced[name][1])
            if due:
                for name in due:  # each time it is still there, twice as long before the next (to ten minutes)
                    wait = announced[name][1] * 2 if name in announced else REANNOUNCE_SECONDS
                    announced[name] = (now, min(wait, REANNOUNCE_LONGEST))
                yield TriggerEvent({"feed": f"{self.agency}/{self.feed}", "files": due})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The same, with a poll of its own (a triggerer that does not share streams)."""
        async for event in self.filter_shared_stream(_snapshots(self.poll_seconds)):
            yield event


async def _snapshots(poll_seconds: float) -> AsyncIterator[dict[str, list[str]]]:
    """Every ``poll_seconds``: {feed key: ["account/name", ...]} of the files complete in the inboxes.

    A file without a ``.done`` marker is complete once its size and time were the same
    ``sftp_settle_seconds`` ago (seen over polls, never by sleeping). A poll that fails (the SFTP server
    restarting) is logged and tried again: the watcher never ends."""
    from totalplace.ingest.receive import InboxLister
    from totalplace.settings import Settings

    settings = Settings()
    lister = InboxLister(settings)
    logging.getLogger("paramiko").setLevel(logging.WARNING)  # a login per account: not news
    first_seen: dict[tuple[str, str], tuple[tuple[int, float], float]] = {}
    started, first_look = time.time(), 0.0
    try:
        while True:
            began = time.monotonic()
            try:
                listing = await asyncio.to_thread(lister)
            except Exception:  # noqa: BLE001 - a watcher that stops is a platform that stops taking files
                log.warning("could not list the partners' inboxes; trying again", exc_info=True)
                await asyncio.sleep(poll_seconds)
                continue
            took = time.monotonic() - began
            first_look = first_look or took
            try:
                await asyncio.to_thread(write_watch_status, settings, started, (first_look, took), lister)
            except OSError:  # a full disk must not stop the watcher: it only reports
                log.warning("could not write the watcher's status", exc_info=True)
            first_seen, complete = _complete(listing, first_seen, settings.sftp_settle_seconds)
            yield complete
            await asyncio.sleep(poll_seconds)
    finally:
        await asyncio.to_thread(lister.close)


def write_watch_status(settings, started: float, took: tuple[float, float], lister) -> None:
    """What the watcher last saw, for ``totalplace status`` (and an operator's monitoring): when it last
    looked, how long a look at every inbox takes, and which inboxes it could not list. A trigger's own
    log lines are not kept by the triggerer, so this file is where the watcher reports."""
    import json

    from totalplace.state import write_private

    status = {"watching_since": started, "looked_at": time.time(), "first_look_seconds": round(took[0], 3),
              "look_seconds": round(took[1], 3),
              "poll_seconds": settings.inbox_poll_seconds, "accounts": lister.accounts,
              "folders_listed": lister.listed, "unreachable": sorted(lister.unreachable)}
    write_private(settings.watch_status_file, json.dumps(status))


def _complete(listing: dict[str, dict[str, tuple[int, float, bool]]],
              first_seen: dict[tuple[str, str], tuple[tuple[int, float], float]], settle_seconds: float):
    """(what was seen when, {feed key: [complete files]}): marked done, or unchanged for ``settle_seconds``."""
    now = time.monotonic()
    complete: dict[str, list[str]] = {}
    seen = {}
    for key, files in listing.items():
        for name, (size, mtime, marked) in files.items():
            state = (size, mtime)
            before = first_seen.get((key, name))
            since = before[1] if before and before[0] == state else now
            seen[(key, name)] = (state, since)
            if marked or now - since >= settle_seconds:
                complete.setdefault(key, []).append(name)
    return seen, complete
