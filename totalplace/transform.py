"""The warehouse build, as the transform DAG runs it and the tests build: write, audit, publish.

1. ``build``: select what changed since the last published build (``build_selection``: everything
   the first time or after a change of the dbt project, else what lies downstream of the feeds whose
   published files changed), start fresh build schemas - carrying, for a partial build, the
   incremental tables it rebuilds - and run one ``dbt build`` into them; every node's outcome goes
   to ``ops.dbt_results``.
2. ``audit``: the build against the ledger (``publish_warehouse.audit``): any difference refuses it.
3. ``publish``: swap the build schemas in (a full build) or replace the rebuilt relations (a partial
   one), in one transaction, and record the build for the next one's selection.

``dags/transform__dbt_build.py`` runs each step as a task; ``build_and_publish`` runs the three in
turn (tests, and anything else that builds the warehouse), so what is tested is what runs.
"""

from __future__ import annotations

import logging
from collections import Counter

from totalplace.settings import Settings

log = logging.getLogger("totalplace.transform")

BUILD_SUFFIX = "__build"


class BuildFailed(RuntimeError):
    """A model or test of the build failed: nothing is published."""


def build(settings: Settings, run_id: str) -> dict:
    """Step 1. Returns ``{"selection": ..., "results": {status: count}}`` (empty results: nothing
    changed, nothing built); raises BuildFailed naming the failed nodes."""
    from totalplace import build_selection, dbt
    from totalplace.publish_warehouse import drop_build
    from totalplace.warehouse import connect, pipeline_url

    url = pipeline_url(settings, "transformer")
    with connect(url) as conn:
        selection = build_selection.select(conn, settings.dbt_project_dir, dbt.current_manifest(settings))
    scope = "the whole warehouse" if selection.full else f"downstream of {', '.join(selection.sources) or 'nothing'}"
    log.info("building %s (%s)", scope, selection.reason)
    if selection.sources == []:
        return {"selection": selection.as_dict(), "results": {}}
    # a fresh build (nothing left over from a failed run); a partial one starts the incremental
    # models it rebuilds from their published state. A full build starts them empty: it follows a
    # change of the dbt project, and rows an older model (or its staging) made are not what this
    # one makes - carried, they kept a lost service line out of fct_spend for ever
    carry = [] if selection.full else [
        (schema, name) for schema, name, kind in selection.relations if kind == "incremental"]
    drop_build(url, carry)
    results = dbt.build_layer(settings, url, "warehouse", BUILD_SUFFIX, select=selection.selectors,
                              defer=not selection.full)
    dbt.record_results(url, run_id, "warehouse", results)
    for r in results:
        log.info("%-7s %-8s %s (%.2f s%s)", r.status, r.resource_type, r.unique_id, r.seconds,
                 f", {r.rows_affected} rows" if r.rows_affected not in (None, -1) else "")
    failed = dbt.failures(results)
    if failed:
        raise BuildFailed(f"dbt build: {len(failed)} of {len(results)} failed: " + "; ".join(
            f"{r.unique_id}: {r.message}" for r in failed[:10]))
    return {"selection": selection.as_dict(), "results": dict(Counter(r.status for r in results))}


def audit(settings: Settings, built: dict) -> None:
    """Step 2. Raises AuditFailed with every disagreement between the build and the ledger."""
    from totalplace.publish_warehouse import AuditFailed
    from totalplace.publish_warehouse import audit as audit_problems
    from totalplace.warehouse import pipeline_url

    if not built["results"]:
        return
    from totalplace.build_selection import Selection

    problems = audit_problems(pipeline_url(settings, "transformer"), feeds_dir=settings.feeds_dir,
                              files=Selection.from_dict(built["selection"]).files)
    if problems:
        raise AuditFailed(f"{len(problems)} audit problem(s); the published warehouse is unchanged: "
                          + "; ".join(problems[:10]))


def publish(settings: Settings, built: dict, run_id: str) -> bool:
    """Step 3. Publish the audited build in one transaction; False when there was nothing to publish."""
    from totalplace import build_selection, dbt
    from totalplace.publish_warehouse import publish_relations, swap
    from totalplace.warehouse import connect, pipeline_url

    if not built["results"]:
        return False
    url = pipeline_url(settings, "transformer")
    selection = build_selection.Selection.from_dict(built["selection"])
    if selection.full:
        swap(url)
    else:
        publish_relations(url, selection.relations)
    with connect(url) as conn:
        build_selection.record(conn, run_id, selection)
    if dbt.current_manifest(settings) is None:  # the next build can be partial: it defers to this manifest
        dbt.parse(settings, url)
    return True


def build_and_publish(settings: Settings, run_id: str = "manual") -> dict:
    """The three steps in turn (what the DAG's tasks do one by one); returns what ``build`` returned."""
    built = build(settings, run_id)
    audit(settings, built)
    publish(settings, built, run_id)
    return built
