"""The completeness rule: only whole files are taken from an inbox."""

from __future__ import annotations

import io
import threading
import time

from connectors.sftp import open_account


def test_done_marker_makes_a_file_complete_at_once(sftp, tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(b"x,y\n1,2\n")
    with open_account(sftp, "city_of_london_police") as police:
        police.upload(f, "street_crime", marker=True)
        start = time.monotonic()
        files = police.list_complete("street_crime", settle_seconds=30)
        assert time.monotonic() - start < 5  # no settling wait for marked files
    assert [(r.name, r.size, r.has_marker) for r in files] == [("a.csv", 8, True)]


def test_part_files_and_hidden_files_are_never_taken(sftp):
    with open_account(sftp, "city_of_london_police") as police:
        police.sftp.putfo(io.BytesIO(b"half a file"), "inbox/street_crime/b.csv.part")
        police.sftp.putfo(io.BytesIO(b"temp"), "inbox/street_crime/.c.csv")
        assert police.list_complete("street_crime", settle_seconds=0.2) == []
        police.sftp.posix_rename("inbox/street_crime/b.csv.part", "inbox/street_crime/b.csv")
        assert [r.name for r in police.list_complete("street_crime", settle_seconds=0.2)] == ["b.csv"]


def test_unmarked_file_is_taken_only_when_it_stops_growing(sftp):
    path = "inbox/street_crime/growing.csv"
    with open_account(sftp, "city_of_london_police") as writer_account, open_account(sftp, "city_of_london_police") as reader:
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


def test_a_file_that_does_not_match_its_manifest_is_quarantined_not_loaded(sftp, tmp_path):
    from conftest import POLICE_SAMPLE

    from connectors.sftp import parse_manifest
    from totalplace import ingest
    from totalplace.contracts import get_contract
    from totalplace.warehouse import connect

    contract = get_contract(sftp.feeds_dir, "police", "street_crime")
    data = POLICE_SAMPLE.read_bytes()
    with open_account(sftp, "city_of_london_police") as police:
        # the sender's manifest promises more than arrived (the upload was cut at a line end)
        cut = data[: data.rindex(b"\r\n", 0, len(data) // 2) + 2]
        police.write_bytes("inbox/street_crime/cut.csv", cut)
        police.write_bytes("inbox/street_crime/cut.csv.done", f"bytes={len(data)}\nrows=797\n".encode())
        # right bytes, but the sender counted rows differently from what the file holds
        police.write_bytes("inbox/street_crime/miscounted.csv", data)
        police.write_bytes("inbox/street_crime/miscounted.csv.done", b'{"rows": 800}')
        # what `totalplace drop` writes: sha256 and bytes, and the file matches
        police.upload(POLICE_SAMPLE, "street_crime")
    pending = ingest.fetch(sftp, contract)
    outcomes = {}
    for file_id in pending:
        status = ingest.load(sftp, contract, file_id)
        if status == "validating":
            ingest.validate(sftp, contract, file_id)
            status = ingest.publish(sftp, contract, file_id).status
        outcomes[file_id] = status
    with connect(sftp.warehouse_url) as conn:
        ledger = {name: (status, error) for name, status, error in conn.execute(
            "select name, status, error from ops.file_ledger").fetchall()}
        published = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
    assert ledger["cut.csv"][0] == "quarantined" and f"size in bytes as {len(data)}" in ledger["cut.csv"][1]
    assert ledger["miscounted.csv"][0] == "quarantined" and "number of data rows as 800" in ledger["miscounted.csv"][1]
    assert ledger[POLICE_SAMPLE.name][0] == "published" and published == 797
    assert parse_manifest("SHA256: ABC\nrows = 12\nother=1") == {"sha256": "abc", "rows": 12}
    assert parse_manifest("") is None


def test_hostile_names_and_planted_links_are_never_taken(sftp, tmp_path):
    """Path traversal and NUL bytes in names are refused at upload; a symlink planted in an inbox
    (by someone with a shell on the server) is not fetched, so /etc/passwd never becomes a file."""
    import os

    from totalplace import ingest
    from totalplace.contracts import get_contract

    contract = get_contract(sftp.feeds_dir, "police", "street_crime")
    inbox = sftp.sftp_root / "city_of_london_police" / "inbox" / "street_crime"
    with open_account(sftp, "city_of_london_police") as police:
        for name in ("../../../../tmp/escape.csv", "../../nhs/inbox/x.csv", "a\x00b.csv", "/etc/cron.d/x.csv"):
            try:
                police.write_bytes(f"inbox/street_crime/{name}", b"a,b\n1,2\n")
            except (OSError, ValueError, UnicodeError):
                continue
            # if the client let it through, it must have landed inside police's own folder
            assert not any(p.name == "x.csv" for p in (sftp.sftp_root / "anytown_icb").rglob("*"))
    assert not os.path.exists("/tmp/escape.csv") and not os.path.exists("/etc/cron.d/x.csv")
    os.symlink("/etc/passwd", inbox / "passwd.csv")
    os.symlink("/etc/passwd", inbox / "passwd.csv.done")
    assert ingest.fetch(sftp, contract) == []
    from totalplace.warehouse import connect

    with connect(sftp.warehouse_url) as conn:
        assert conn.execute("select count(*) from ops.file_ledger").fetchone()[0] == 0
