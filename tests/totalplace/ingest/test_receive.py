"""Taking files from the inboxes: only those the watcher announced when it started the run, every
sender's side by side, and one inbox that cannot be reached never holding back the others' files."""

from __future__ import annotations

import logging
import threading
import time

import yaml

from connectors.sftp import open_account
from totalplace.contracts import get_contract
from totalplace.ingest import receive
from totalplace.warehouse import connect


def _inbox(settings, account: str, feed: str) -> list[str]:
    with open_account(settings, account) as session:
        return sorted(session.waiting(feed))


def _drop(settings, tmp_path, account: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(f"Body,Amount\n{account},{len(name)}.00\n")
    with open_account(settings, account) as session:
        session.upload(path, "spend_over_500")


def _received(settings) -> dict[int, str]:
    with connect(settings.warehouse_url) as conn:
        return dict(conn.execute("select file_id, account from ops.file_ledger where feed = 'spend_over_500'"))


def test_a_run_the_watcher_started_takes_only_the_inboxes_it_announced(sftp, tmp_path):
    contract = get_contract(sftp.feeds_dir, "council", "spend_over_500")
    _drop(sftp, tmp_path, "devon", "devon-april.csv")
    _drop(sftp, tmp_path, "leeds", "leeds-april.csv")
    extras = [{"from_trigger": True, "payload": {"feed": "council/spend_over_500", "files": ["devon/devon-april.csv"]}}]
    assert receive.announced_accounts(extras) == {"devon"}

    taken = receive.fetch(sftp, contract, receive.announced_accounts(extras))
    assert sorted(_received(sftp).values()) == ["devon"] and sorted(_received(sftp)) == taken
    assert _inbox(sftp, "devon", "spend_over_500") == []
    assert _inbox(sftp, "leeds", "spend_over_500") == ["leeds-april.csv"]  # left for its own event

    # a run whose events name many inboxes (a busy time, when events also go missing) takes every sender's
    many = sftp.model_copy(update={"sftp_parallel_sessions": 1})
    _drop(sftp, tmp_path, "oxford", "oxford-april.csv")
    receive.fetch(many, contract, {"devon", "anytown"})
    assert sorted(_received(sftp).values()) == ["devon", "leeds", "oxford"]
    assert _inbox(sftp, "leeds", "spend_over_500") == []
    # a run with another start (the sweep, a manual run) takes every sender's - and what is still pending
    _drop(sftp, tmp_path, "leeds", "leeds-may.csv")
    assert receive.announced_accounts([]) is None
    assert receive.announced_accounts([*extras, {"note": "made by hand"}]) is None
    assert receive.announced_accounts([{"payload": "devon/devon-april.csv"}]) is None
    assert receive.announced_accounts([{"payload": {"files": ["no-account.csv"]}}]) is None
    everything = receive.fetch(sftp, contract, None)
    assert sorted(_received(sftp).values()) == ["devon", "leeds", "leeds", "oxford"]
    assert everything == sorted(_received(sftp))
    assert _inbox(sftp, "leeds", "spend_over_500") == []


def test_an_inbox_that_cannot_be_reached_does_not_hold_back_the_others(sftp, tmp_path, caplog):
    # a body in the registry whose account the server does not know: its login fails
    doc = yaml.safe_load(sftp.partners_file.read_text())
    doc["partners"].append({"body": "Nowhere Council", "agency_type": "council", "account": "nowhere",
                            "feeds": ["spend_over_500"]})
    partners = tmp_path / "partners.yml"
    partners.write_text(yaml.safe_dump(doc, sort_keys=False))
    settings = sftp.model_copy(update={"partners_file": partners})
    _drop(settings, tmp_path, "oxford", "oxford-april.csv")
    contract = get_contract(settings.feeds_dir, "council", "spend_over_500")

    with caplog.at_level(logging.WARNING, logger="totalplace.alerts"):
        taken = receive.fetch(settings, contract)
    assert list(_received(settings).values()) == ["oxford"] and taken == sorted(_received(settings))  # and go on
    [said] = [r.getMessage() for r in caplog.records if "inbox_unreachable" in r.getMessage()]
    assert "from nowhere" in said and "the other" in said
    # the watcher's view too: the account it cannot list is skipped, the others are seen
    _drop(settings, tmp_path, "leeds", "leeds-may.csv")
    waiting = receive.waiting_files(settings)
    assert {key: sorted(files) for key, files in waiting.items()} == {"council__spend_over_500": ["leeds/leeds-may.csv"]}

def test_accounts_are_worked_side_by_side_and_each_result_kept(settings):
    many = settings.model_copy(update={"sftp_parallel_sessions": 4})
    running, peak, lock = [0], [0], threading.Lock()

    def work(account: str) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        if account == "b":
            raise OSError("connection refused")
        return account.upper()

    start = time.monotonic()
    results = receive.each_account(many, ["a", "b", "c", "d", "e", "f", "g", "h"], work)
    assert time.monotonic() - start < 0.2 * 8  # not one after another
    assert 2 <= peak[0] <= 4  # side by side, never more sessions than the setting allows
    assert isinstance(results.pop("b"), OSError)
    assert results == {a: a.upper() for a in "acdefgh"}


def test_the_watchers_lister_lists_a_folder_again_only_when_it_may_have_changed(sftp, tmp_path):
    """Hundreds of accounts every second or two: a folder whose modification time has not moved since a
    listing it can trust costs one stat, not a listing - and a file added, even in the same second, or
    one still being written, is never missed."""
    lister = receive.InboxLister(sftp)
    try:
        assert lister() == {} and lister.listed > 0  # the first look lists every folder
        time.sleep(receive.SAME_SECOND + 0.1)
        lister()  # once more, a second on: a change in the second of the first listing would show now
        assert lister() == {} and lister.listed == 0  # from here a stat per folder stands for its listing
        _drop(sftp, tmp_path, "devon", "devon-april.csv")  # at once, in the same second as that look
        assert sorted(lister()["council__spend_over_500"]) == ["devon/devon-april.csv"] and lister.listed == 1
        path = tmp_path / "leeds-april.csv"
        path.write_text("Body,Amount\nLeeds,1.00\n")
        with open_account(sftp, "leeds") as leeds:
            leeds.upload(path, "spend_over_500", marker=False)  # no .done: complete once it stops growing
        for _ in range(3):  # watched, listing after listing, until it is taken
            time.sleep(receive.SAME_SECOND)
            waiting = lister()
            assert "leeds/leeds-april.csv" in waiting["council__spend_over_500"] and lister.listed >= 1
        with open_account(sftp, "leeds") as leeds:
            leeds.sftp.remove("inbox/spend_over_500/leeds-april.csv")  # taken
        assert sorted(lister()["council__spend_over_500"]) == ["devon/devon-april.csv"]
    finally:
        lister.close()


def test_a_listing_stands_only_once_made_a_second_after_the_folders_time_was_first_seen():
    """SFTP gives a folder's time in whole seconds: a file added in the same second as a listing leaves
    it unchanged, so a listing begun in that second cannot be trusted while the time stays the same."""
    marked, unmarked = {"a.csv": (10, 100.0, True)}, {"a.csv": (10, 100.0, False)}
    same_second = receive._Folder(mtime=100, files=marked, changed_at=50.0, listed_at=50.0)
    assert not same_second.stands(100, now=50.5)  # listed at once: a file may have come in that second
    later = receive._Folder(mtime=100, files=marked, changed_at=50.0, listed_at=50.0 + receive.SAME_SECOND)
    assert later.stands(100, now=52.0)
    assert not later.stands(101, now=52.0)  # the time moved: a file added, renamed or removed
    assert not later.stands(100, now=51.2 + receive.RELIST_SECONDS)  # listed again once a minute
    growing = receive._Folder(mtime=100, files=unmarked, changed_at=50.0, listed_at=52.0)
    assert not growing.stands(100, now=53.0)  # no .done: it may still be growing
