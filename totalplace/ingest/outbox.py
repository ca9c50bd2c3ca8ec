"""The report a sender gets back: ``outbox/<feed>/<name>.<outcome>.{json,txt,csv}`` on its own SFTP account."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from connectors.sftp import SftpAccount, open_service
from totalplace.reports import render_csv, render_text
from totalplace.settings import Settings

log = logging.getLogger(__name__)


def send_report(settings: Settings, account: str | None, feed: str, name: str, report: dict[str, Any],
                session: SftpAccount | None = None) -> None:
    """Write ``outbox/<feed>/<name>.<outcome>.{json,txt}`` (and ``.csv`` of the problems of a
    rejected file, spreadsheet-safe) on the SFTP account the file came from (none for a local file)."""
    if account is None:
        return
    stem = f"outbox/{feed}/{name}.{report['outcome']}"
    payload_json = json.dumps(report, indent=2, default=str).encode()
    payload_txt = render_text(report).encode()
    payload_csv = render_csv(report)
    try:
        with contextlib.ExitStack() as stack:
            acct = session or stack.enter_context(open_service(settings, account))
            acct.write_bytes(stem + ".json", payload_json)
            acct.write_bytes(stem + ".txt", payload_txt)
            if payload_csv is not None:
                acct.write_bytes(stem + ".csv", payload_csv.encode("utf-8-sig"))
    except Exception:  # the ledger already holds the outcome and the report; delivery is retried by hand
        log.exception("could not deliver the report for %s:%s/%s to the outbox", account, feed, name)
