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
    """Publish every reference file whose content is not yet published; returns what was done."""
    outcomes = []
    for key, contract in load_contracts(settings.feeds_dir).items():
        if contract.agency != "reference":
            continue
        path = REFERENCE_DIR / f"{contract.feed}.csv"
        if not path.exists():
            raise FileNotFoundError(f"reference feed {key} has no data file {path}")
        outcome = intake.ingest_local(settings, contract, path, skip_if_published=True)
        if outcome is not None:
            log.info("reference %s: %s (%s rows)", key, outcome.status, outcome.rows)
            outcomes.append(outcome)
    return outcomes
