"""The gate's hold on the warehouse: every session it opens is closed when it returns, however many files
one task gates (a task gating a share of 75 files once held 75 idle sessions, and at national scale the
server ran out of connections - which quarantined two good files)."""

from __future__ import annotations

import time

from conftest import POLICE_SAMPLE

from expectations.gate import GATE_APPLICATION
from totalplace import ingest
from totalplace.ingest.kept import sha256_of
from totalplace.ingest.receive import record_and_keep
from totalplace.ingest.tables import prepare
from totalplace.warehouse import connect


def _gate_sessions(settings) -> int:
    """Sessions the gate left open - given a moment to go (a backend leaves pg_stat_activity just after
    its client closed it)."""
    deadline = time.monotonic() + 5
    while True:
        with connect(settings.warehouse_url) as conn:
            count = conn.execute("select count(*) from pg_stat_activity where application_name = %s",
                                 (GATE_APPLICATION,)).fetchone()[0]
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def test_the_gate_leaves_no_session_open_however_many_files_a_task_gates(settings, police_contract):
    with connect(prepare(settings, police_contract)) as conn:
        entry = record_and_keep(conn, settings, police_contract, POLICE_SAMPLE, POLICE_SAMPLE.name,
                                *sha256_of(POLICE_SAMPLE), move=False, sent_by="City of London Police")
    assert ingest.load(settings, police_contract, entry.file_id) == "validating"
    for _ in range(4):  # one process, one file gated again and again: as a share's files are
        assert ingest.validate(settings, police_contract, entry.file_id) is True
        assert _gate_sessions(settings) == 0
    assert ingest.publish(settings, police_contract, entry.file_id).status == "published"
