"""The completeness rule: only whole files are taken from an inbox."""

from __future__ import annotations

import io
import threading
import time

from connectors.sftp import open_account


def test_done_marker_makes_a_file_complete_at_once(sftp, tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(b"x,y\n1,2\n")
    with open_account(sftp, "police") as police:
        police.upload(f, "street_crime", marker=True)
        start = time.monotonic()
        files = police.list_complete("street_crime", settle_seconds=30)
        assert time.monotonic() - start < 5  # no settling wait for marked files
    assert [(r.name, r.size, r.has_marker) for r in files] == [("a.csv", 8, True)]


def test_part_files_and_hidden_files_are_never_taken(sftp):
    with open_account(sftp, "police") as police:
        police.sftp.putfo(io.BytesIO(b"half a file"), "inbox/street_crime/b.csv.part")
        police.sftp.putfo(io.BytesIO(b"temp"), "inbox/street_crime/.c.csv")
        assert police.list_complete("street_crime", settle_seconds=0.2) == []
        police.sftp.posix_rename("inbox/street_crime/b.csv.part", "inbox/street_crime/b.csv")
        assert [r.name for r in police.list_complete("street_crime", settle_seconds=0.2)] == ["b.csv"]


def test_unmarked_file_is_taken_only_when_it_stops_growing(sftp):
    path = "inbox/street_crime/growing.csv"
    with open_account(sftp, "police") as writer_account, open_account(sftp, "police") as reader:
        handle = writer_account.sftp.open(path, "wb")
        handle.write(b"Crime ID,Month\n")
        handle.flush()
        stop = threading.Event()

        def keep_writing():
            while not stop.is_set():
                handle.write(b"abc,2020-01\n")
                handle.flush()
                time.sleep(0.05)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            assert reader.list_complete("street_crime", settle_seconds=0.5) == []
        finally:
            stop.set()
            writer.join()
            handle.close()
        taken = reader.list_complete("street_crime", settle_seconds=0.5)
        assert [r.name for r in taken] == ["growing.csv"]
        assert taken[0].size == reader.sftp.stat(path).st_size


def test_waiting_feeds_lists_only_feeds_with_candidates(sftp, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a\n")
    with open_account(sftp, "police") as police:
        assert police.waiting_feeds() == []
        police.upload(f, "street_crime")
        assert police.waiting_feeds() == ["street_crime"]
