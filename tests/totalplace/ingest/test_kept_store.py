"""Files between tasks go through the platform's store, not a folder one worker happens to have: `fetch`
in one process and `load`, `validate`, `publish` in another, each with a local folder of its own, share
only the store (a folder both mount here; an fsspec URL such as s3:// in production)."""

from __future__ import annotations

import os
import subprocess
import sys

from connectors.sftp import open_account
from totalplace.airflow_env import settings_environment
from totalplace.ingest import kept
from totalplace.settings import PROJECT_ROOT
from totalplace.warehouse import connect

STREET = PROJECT_ROOT / "tests" / "fixtures" / "police" / "2020-01-city-of-london-street.csv"


def _step(settings, state, store, code: str) -> str:
    """``code`` in a process of its own, with ``state`` as its local folder (None: the SFTP server's)."""
    env = {**os.environ, **settings_environment(settings), "TOTALPLACE_FILES_STORE_URL": store,
           **({"TOTALPLACE_STATE_DIR": str(state)} if state else {})}
    program = ("from totalplace.settings import Settings\nfrom totalplace.contracts import get_contract\n"
               "from totalplace import ingest\ns = Settings()\nc = get_contract(s.feeds_dir, 'police', 'street_crime')\n"
               + code)
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_fetch_and_load_in_processes_with_different_local_folders_share_only_the_store(sftp, tmp_path):
    store = tmp_path / "store"
    with open_account(sftp, "city_of_london_police") as session:
        session.upload(STREET, "street_crime")
    worker_b = tmp_path / "worker-b"
    ids = _step(sftp, None, f"file://{store}", "print(','.join(map(str, ingest.fetch(s, c))))")
    [file_id] = [int(i) for i in ids.split(",")]
    kept_files = [p for p in store.rglob("*") if p.is_file()]
    assert [p.name for p in kept_files] == [STREET.name]
    # the fetching worker kept it in the store, not in its own folder (where only the download passed)
    assert not [p for p in sftp.files_dir.rglob("*") if p.is_file()]
    status = _step(sftp, worker_b, f"file://{store}",
                   f"print(ingest.load(s, c, {file_id}))\ningest.validate(s, c, {file_id})\n"
                   f"print(ingest.publish(s, c, {file_id}).status)")
    assert status == "published"
    with connect(sftp.warehouse_url) as conn:
        rows = conn.execute("select count(*) from raw.police__street_crime where _file_id = %s", (file_id,)).fetchone()[0]
    assert rows == sum(1 for _ in STREET.open(encoding="utf-8")) - 1


def test_a_workbook_quarantined_on_another_worker_still_names_its_sheet_rows(settings, tmp_path):
    """Where a workbook's rows lie is written when it is read as CSV - on the worker that landed it: the
    worker that quarantines it reads it again from the store (fsspec's in-memory filesystem standing for
    S3, each worker with a local folder of its own), and the report names sheet and row."""
    from datetime import date

    from openpyxl import Workbook

    from totalplace import ingest
    from totalplace.contracts import get_contract
    from totalplace.ingest.kept import sha256_of
    from totalplace.ingest.receive import record_and_keep
    from totalplace.ingest.tables import prepare

    book = tmp_path / "anytown-april.xlsx"
    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Payments over £500"])
    sheet = wb.create_sheet("April")
    sheet.append(["Spend over £500, April 2023"])
    sheet.append(["Body Name", "Date", "Transaction Number", "Amount", "Supplier Name", "Expense Area", "Expense Type"])
    for day in range(1, 6):
        sheet.append(["Anytown Council", date(2023, 4, day), f"T{day}", "twelve pounds" if day == 4 else 1000 + day,
                      f"SUPPLIER {day}", "Parks", "Plants"])
    wb.save(book)
    store = "memory://totalplace-test-workbooks"
    one, two = (settings.model_copy(update={"files_store_url": store, "state_dir": tmp_path / worker})
                for worker in ("worker-one", "worker-two"))
    contract = get_contract(settings.feeds_dir, "council", "spend_over_500")
    with connect(prepare(one, contract)) as conn:
        entry = record_and_keep(conn, one, contract, book, book.name, *sha256_of(book), move=False, sent_by="Anytown Council")
    assert ingest.load(one, contract, entry.file_id) == "validating"
    assert ingest.validate(one, contract, entry.file_id) is False
    assert ingest.publish(two, contract, entry.file_id).status == "quarantined"
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (entry.file_id,)).fetchone()[0]
    [problem] = report["problems"]
    [example] = problem["examples"]
    # the fourth payment: row 6 of sheet April (title, header, three payments above)
    assert (example["sheet"], example["sheet_row"], example["value"]) == ("April", 6, "twelve pounds")


def test_a_store_that_is_not_a_folder_is_reached_through_fsspec(settings, police_contract, tmp_path):
    """fsspec's in-memory filesystem stands for S3 here: kept by one 'worker', copied down by another
    with its own cache, discarded from both."""
    store = "memory://totalplace-test-store"
    one = settings.model_copy(update={"state_dir": tmp_path / "one", "files_store_url": store})
    two = settings.model_copy(update={"state_dir": tmp_path / "two", "files_store_url": store})
    source = tmp_path / "upload.csv"
    source.write_bytes(STREET.read_bytes())
    kept.keep(one, police_contract, 7, STREET.name, source, move=True)
    assert not source.exists()
    assert not kept.local_path(two, police_contract, 7, STREET.name).exists()
    assert kept.is_kept(two, police_contract, 7, STREET.name)
    copy = kept.local_copy(two, police_contract, 7, STREET.name)
    assert copy.read_bytes() == STREET.read_bytes() and copy.is_relative_to(tmp_path / "two")
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    kept.discard_kept(one, police_contract, 7, STREET.name)
    assert not kept.is_kept(two, police_contract, 8, STREET.name)
    assert not kept.is_kept(one, police_contract, 7, STREET.name)
