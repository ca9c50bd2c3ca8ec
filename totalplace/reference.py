"""National reference data (ONS geography, population) loaded by the platform itself.

Each file ``reference/<feed>.csv`` has a contract ``feeds/reference/<feed>.yml`` and goes through
the same load -> gate -> publish path as a partner's file; content already published is skipped,
so calling this on every run costs one hash per file.
"""

from __future__ import annotations

import logging

from totalplace import intake
from totalplace.contracts import load_contracts
from totalplace.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

REFERENCE_DIR = PROJECT_ROOT / "reference"


def load_reference(settings: Settings) -> list[intake.Outcome]:
    """Publish every reference file whose content is not yet published; returns what was done.

    Which files are published already is read in one query, so an unchanged set costs a hash per
    file, not a load step each (the transform DAG checks them before every build). The warehouse is
    prepared first by the caller (``services.prepare_warehouse``: schemas, roles, the ledger) - every
    caller does, and bootstrapping it again here cost each build another ~50 ms.
    """
    from totalplace.warehouse import connect, pipeline_url

    files = {}
    for key, contract in load_contracts(settings.feeds_dir).items():
        if contract.agency != "reference":
            continue
        path = REFERENCE_DIR / f"{contract.feed}.csv"
        if not path.exists():
            raise FileNotFoundError(f"reference feed {key} has no data file {path}")
        files[key] = (contract, path, intake.sha256_of(path)[0])
    with connect(pipeline_url(settings, "loader")) as conn:
        published = {(a, f, h) for a, f, h in conn.execute(
            "select agency, feed, sha256 from ops.file_ledger where agency = 'reference' and status = 'published'")}
    outcomes = []
    for key, (contract, path, sha256) in files.items():
        if (contract.agency, contract.feed, sha256) in published:
            continue
        outcome = intake.ingest_local(settings, contract, path, skip_if_published=True)
        if outcome is not None:
            log.info("reference %s: %s (%s rows)", key, outcome.status, outcome.rows)
            outcomes.append(outcome)
    return outcomes
