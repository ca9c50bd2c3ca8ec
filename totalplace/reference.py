"""National reference data (ONS geography, population) loaded by the platform itself.

Each file ``reference/<feed>.csv`` - or, for a feed published once a year as its own file, each
file in the folder ``reference/<feed>/`` (e.g. one population workbook per year) - has a contract
``feeds/reference/<feed>.yml`` and goes through the same load -> gate -> publish path as a
partner's file; content already published is skipped, so calling this on every run costs one hash
per file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from totalplace import ingest
from totalplace.contracts import load_contracts
from totalplace.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

REFERENCE_DIR = PROJECT_ROOT / "reference"


def reference_files(feed: str) -> list[Path]:
    """The files of a reference feed: ``reference/<feed>.csv`` (or ``.geojson``), or every file in ``reference/<feed>/``
    in name order (ONS name releases by year, so the older year is published first)."""
    singles = [p for p in (REFERENCE_DIR / f"{feed}.csv", REFERENCE_DIR / f"{feed}.geojson") if p.exists()]
    folder = REFERENCE_DIR / feed
    found = singles or (sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else [])
    if not found:
        raise FileNotFoundError(f"reference feed {feed} has no data file {feed}.csv / .geojson nor files in {folder}/")
    return found


def load_reference(settings: Settings) -> list[ingest.Outcome]:
    """Publish every reference file whose content is not yet published; returns what was done.

    Which files are published already is read in one query, so an unchanged set costs a hash per
    file, not a load step each (the transform DAG checks them before every build). The warehouse is
    prepared first by the caller (``services.prepare_warehouse``: schemas, roles, the ledger) - every
    caller does, and bootstrapping it again here cost each build another ~50 ms.
    """
    from totalplace.warehouse import connect, pipeline_url

    files = []
    for key, contract in load_contracts(settings.feeds_dir).items():
        if contract.agency != "reference":
            continue
        for path in reference_files(contract.feed):
            files.append((key, contract, path, ingest.sha256_of(path)[0]))
    with connect(pipeline_url(settings, "loader")) as conn:
        published = {(a, f, h) for a, f, h in conn.execute(
            "select agency, feed, sha256 from ops.file_ledger where agency = 'reference' and status = 'published'")}
    outcomes = []
    for key, contract, path, sha256 in files:
        if (contract.agency, contract.feed, sha256) in published:
            continue
        outcome = ingest.ingest_local(settings, contract, path, skip_if_published=True)
        if outcome is not None:
            log.info("reference %s: %s (%s rows)", key, outcome.status, outcome.rows)
            outcomes.append(outcome)
    return outcomes
