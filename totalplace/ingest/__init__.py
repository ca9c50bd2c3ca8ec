"""Ingest: what happens to a dropped file, one module per stage, in the order a file goes through them.

    receive     complete files from the partners' SFTP inboxes -> the ledger and the platform's copy
    read        bytes -> a CSV and a matched header (workbooks, encodings, header rows, partner mappings)
    pseudonymise  person identifiers -> keyed pseudonyms, on the way in, before PostgreSQL sees a byte
    land        COPY into ``landing``, then ``typed`` (the SQL typing compiler) and whole-file checks
    gate        the feed's Great Expectations suite, run inside PostgreSQL on the typed table
    publish     the typed table becomes the file's partition of ``raw`` (or ``quarantine`` takes it)
    rerun       a quarantined or failed file run again from the kept copy (``reprocess``, ``backfill``)

with ``ledger`` (``ops.file_ledger``: each file's state), ``kept`` (the platform's copy of each
file), ``tables`` (the tables a file passes through), ``outbox`` (the sender's report), ``outcome``
(whose fault an error is) and ``local`` (the same stages for a file already on this machine).

Each stage is a function of (settings, contract, file_id) that reads the file's state from the ledger
and moves it on in one transaction, so every step can be re-run after a crash and changes nothing the
second time. The Airflow DAG ``ingest_<agency>__<feed>`` calls them one per task; the CLI and the tests
call the same functions. The entry points are re-exported here (so ``ingest.publish`` is the
function; the module is ``totalplace.ingest.publish``, imported by its full name).
"""

from totalplace.ingest.gate import validate
from totalplace.ingest.kept import sha256_of
from totalplace.ingest.land import load
from totalplace.ingest.local import check_file, ingest_local
from totalplace.ingest.outcome import Outcome, fault_of
from totalplace.ingest.publish import publish
from totalplace.ingest.read import propose_mapping
from totalplace.ingest.receive import fetch, sender
from totalplace.ingest.rerun import backfill, reprocess
from totalplace.ingest.tables import prepare

__all__ = ["Outcome", "backfill", "check_file", "fault_of", "fetch", "ingest_local", "load", "prepare",
           "propose_mapping", "publish", "reprocess", "sender", "sha256_of", "validate"]
