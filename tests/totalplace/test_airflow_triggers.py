"""The inbox watcher's rules, without a triggerer: when a file counts as complete, and that each file is
announced once (the end-to-end path - a drop starting the ingest under a real triggerer - is run by
test_airflow_ui.py and test_airflow_cluster.py)."""

from __future__ import annotations

import asyncio
import time


def test_a_file_is_complete_when_marked_done_or_unchanged_for_the_settle_time(airflow_home):
    # Airflow is imported only once this worker's AIRFLOW_HOME is set (airflow_home): imported at
    # collection, it would bind every later dag.test() of the worker to a database that does not exist
    from totalplace.airflow_triggers import _complete

    listing = {"police__street_crime": {"met_police/a.csv": (100, 1.0, True), "met_police/b.csv": (100, 1.0, False)}}
    seen, complete = _complete(listing, {}, settle_seconds=0.2)
    assert complete == {"police__street_crime": ["met_police/a.csv"]}  # b: first seen now, still being written?
    time.sleep(0.25)
    seen, complete = _complete(listing, seen, settle_seconds=0.2)
    assert sorted(complete["police__street_crime"]) == ["met_police/a.csv", "met_police/b.csv"]
    grown = {"police__street_crime": {"met_police/b.csv": (200, 2.0, False)}}
    seen, complete = _complete(grown, seen, settle_seconds=0.2)
    assert complete == {}  # it grew: the settle time starts again


def test_each_complete_file_of_its_feed_is_announced_once(airflow_home):
    from totalplace.airflow_triggers import InboxTrigger

    trigger = InboxTrigger(agency="council", feed="spend_over_500", poll_seconds=1)
    polls = [
        {"council__spend_over_500": ["leeds/a.csv"], "police__street_crime": ["met_police/x.csv"]},
        {"council__spend_over_500": ["leeds/a.csv", "devon/b.csv"]},  # a still waits: not announced again
        {},  # both taken by the ingest
        {"council__spend_over_500": ["leeds/a.csv"]},  # sent again: a new file to announce
    ]

    async def stream():
        for poll in polls:
            yield poll

    async def collect():
        return [event.payload async for event in trigger.filter_shared_stream(stream())]

    events = asyncio.run(collect())
    assert [e["files"] for e in events] == [["leeds/a.csv"], ["devon/b.csv"], ["leeds/a.csv"]]
    assert {e["feed"] for e in events} == {"council/spend_over_500"}
    # every feed's watcher shares one poll of the inboxes; the trigger survives serialisation as is
    other = InboxTrigger(agency="police", feed="street_crime", poll_seconds=1)
    assert trigger.shared_stream_key() == other.shared_stream_key()
    classpath, kwargs = trigger.serialize()
    assert classpath == "totalplace.airflow_triggers.InboxTrigger" and InboxTrigger(**kwargs).feed == "spend_over_500"


def test_a_file_still_waiting_is_announced_again_less_and_less_often(airflow_home, monkeypatch):
    """Airflow gives a run the asset events up to the first one queued for it: one that came while the run
    waited for the run before is in no run's events, and its file would wait for the hourly sweep. So a
    file still waiting is announced again - after 30 s, then 60, 120 ... up to ten minutes (one the ingest
    leaves in place must not start a run every half minute)."""
    import types

    from totalplace import airflow_triggers

    clock = [0.0]
    monkeypatch.setattr(airflow_triggers, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    trigger = airflow_triggers.InboxTrigger(agency="council", feed="spend_over_500", poll_seconds=1)

    async def stream():
        for second in range(0, 400, 5):  # a poll every 5 s; devon/b.csv is taken after the first
            clock[0] = float(second)
            yield {"council__spend_over_500": ["leeds/a.csv", *(["devon/b.csv"] if second == 0 else [])]}

    async def collect():
        return [(clock[0], event.payload["files"]) async for event in trigger.filter_shared_stream(stream())]

    events = asyncio.run(collect())
    assert events[0] == (0.0, ["devon/b.csv", "leeds/a.csv"])
    assert events[1:] == [(30.0, ["leeds/a.csv"]), (90.0, ["leeds/a.csv"]), (210.0, ["leeds/a.csv"])]


def test_the_watcher_looks_at_every_inbox_and_says_so(sftp, airflow_home, tmp_path):
    import json

    from connectors.sftp import open_account
    from totalplace.airflow_triggers import _snapshots
    from totalplace.partners import registry
    from totalplace.services import watcher_summary

    assert "has not looked yet" in watcher_summary(sftp)
    path = tmp_path / "april.csv"
    path.write_text("Crime ID,Month\n1,2020-01\n")
    with open_account(sftp, "met_police") as met:
        met.upload(path, "street_crime")  # with its .done marker: complete at once

    async def first_look():
        looks = _snapshots(0.1)
        try:
            return await anext(looks)
        finally:
            await looks.aclose()

    assert asyncio.run(first_look()) == {"police__street_crime": ["met_police/april.csv"]}
    seen = json.loads(sftp.watch_status_file.read_text())
    assert seen["accounts"] == len(registry(sftp).senders) and seen["unreachable"] == []
    now = seen["looked_at"]
    assert f"looked at {seen['accounts']} inboxes 0 s ago" in watcher_summary(sftp, now)
    assert "stopped looking" in watcher_summary(sftp, now + 600)
