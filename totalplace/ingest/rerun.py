"""Re-run: a quarantined, failed or unfinished file run again from the platform's kept copy.

After a contract, an agreement or a partner's mapping was corrected, ``totalplace reprocess`` and
``backfill`` take files back through land, gate and publish. The sender is re-resolved from
partners.yml as it says now.
"""

from __future__ import annotations

from datetime import date

from psycopg import sql

from totalplace.contracts import Contract
from totalplace.ingest import ledger
from totalplace.ingest.gate import validate
from totalplace.ingest.kept import is_kept
from totalplace.ingest.land import load
from totalplace.ingest.outcome import Outcome
from totalplace.ingest.publish import publish
from totalplace.ingest.receive import resolve_sender
from totalplace.ingest.tables import landing_table, prepare
from totalplace.settings import Settings
from totalplace.warehouse import connect, pipeline_url


def reprocess(settings: Settings, contract: Contract, file_id: int, *, notify: bool = True) -> Outcome:
    """Run a quarantined, failed or unfinished file again from its kept bytes - after the sender's
    contract was corrected, say. Safe to repeat: a published, duplicate or superseded file is left
    as it is, and the earlier outcome is kept in the report's ``history``."""
    url = prepare(settings, contract)
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
        if entry is None or (entry.agency, entry.feed) != (contract.agency, contract.feed):
            raise LookupError(f"no file {file_id} of {contract.agency}/{contract.feed} in the ledger")
        if entry.purged_at is not None:
            raise ValueError(f"file {file_id} cannot be run again: retention deleted it on {entry.purged_at:%Y-%m-%d}")
        if entry.status in ("published", "duplicate", "superseded"):
            return Outcome(file_id, entry.name, entry.status, entry.rows, entry.error)
        if not is_kept(settings, contract, file_id, entry.name):
            raise ValueError(f"file {file_id} cannot be run again: it was not kept (a rejected file that holds person "
                             "identifiers is deleted) - ask the sender to send it again")
        if entry.status in ("quarantined", "failed"):
            history = [*(entry.report or {}).get("history", []),
                       {"status": entry.status, "error": entry.error, "finished_at": str(entry.finished_at)}]
            conn.execute(sql.SQL("drop table if exists {}").format(
                sql.Identifier("quarantine", landing_table(contract, file_id).name)))
            ledger.transition(conn, file_id, "received", error=None, report={"history": history})
        # the sender as the registry says now (a body given its own account since, a fixed entry)
        resent_by = resolve_sender(settings, contract, entry)
        if resent_by != entry.sent_by:
            conn.execute("update ops.file_ledger set sent_by = %s where file_id = %s", (resent_by, file_id))
    if load(settings, contract, file_id, notify=notify) == "validating":
        validate(settings, contract, file_id)
        return publish(settings, contract, file_id, notify=notify)
    with connect(url) as conn:
        done = ledger.get_entry(conn, file_id)
    return Outcome(file_id, done.name, done.status, done.rows, done.error)


def backfill(settings: Settings, contract: Contract, since: date, *, notify: bool = True) -> list[Outcome]:
    """Reprocess every quarantined or failed file of a feed received on or after ``since``."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        ids = [r[0] for r in conn.execute(
            "select file_id from ops.file_ledger where agency = %s and feed = %s and received_at >= %s "
            "and status in ('quarantined', 'failed') and purged_at is null order by file_id",
            (contract.agency, contract.feed, since)).fetchall()]
    return [reprocess(settings, contract, file_id, notify=notify) for file_id in ids]
