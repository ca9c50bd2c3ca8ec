"""Gate: run the feed's Great Expectations suite on a landed file, inside PostgreSQL.

Stage 4 of ingest. The verdict, its problems (row, column, the sender's value) and GX's Data Docs
page are recorded in the ledger; ``publish`` acts on it. The suites themselves are built from the
contracts in ``expectations/``.
"""

from __future__ import annotations

import json
import logging

from expectations.gate import GateResult, run_gate
from totalplace.contracts import Contract
from totalplace.ingest import ledger
from totalplace.ingest.kept import local_copy
from totalplace.ingest.outcome import could_not, fault_of
from totalplace.ingest.read import match_file, tabular_source
from totalplace.ingest.tables import landing_table
from totalplace.mappings import load_mapping
from totalplace.reports import withhold_values
from totalplace.settings import Settings
from totalplace.warehouse import connect, pipeline_url

log = logging.getLogger(__name__)


def validate(settings: Settings, contract: Contract, file_id: int) -> bool | None:
    """Run the gate on a landed file and record its verdict in the ledger report."""
    url = pipeline_url(settings, "loader")
    with connect(url) as conn:
        entry = ledger.get_entry(conn, file_id)
    if entry is None or entry.status != "validating":
        return None
    try:
        source = tabular_source(local_copy(settings, contract, file_id, entry.name), contract)
        mapping, _ = load_mapping(settings.feeds_dir, contract, entry.sent_by)
        match = match_file(source, contract, (entry.report or {}).get("encoding"), mapping)
        table = landing_table(contract, file_id)
        result = run_gate(url, contract, table.schema, table.typed_name, match)
    except Exception as exc:
        fault = fault_of(exc)
        if fault == "platform":
            raise
        log.exception("file %s (%s) could not be checked", file_id, entry.name)
        result = GateResult(suite=contract.suite_name, passed=False, expectations=0,
                            problems=[could_not(exc, "checked", fault)])
    if result.data_docs:
        docs = settings.validations_dir / f"{file_id}.html"
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(result.data_docs)  # copied into the site by the next `totalplace report`
    report = dict(entry.report or {})
    report["gate"] = {
        "suite": result.suite,
        "passed": result.passed,
        "expectations": result.expectations,
        "problems": [p.as_dict() for p in withhold_values(result.problems,
                                                           person_level=bool(contract.person_identifiers))],
    }
    with connect(url) as conn:
        conn.execute("update ops.file_ledger set report = %s where file_id = %s and status = 'validating'",
                     (json.dumps(report), file_id))
    return result.passed
