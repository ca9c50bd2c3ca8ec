"""Rebuilds the place profiles - the static HTML site analysts and councillors read - each time the
transform DAG publishes the warehouse: one page per place (spend per head by agency and theme, cost
per outcome and its trend, outcomes against statistical neighbours, funding streams and pooled
budgets, crime by month, the most deprived neighbourhoods), the data's freshness per feed, a page
per partner listing each file it sent and why a file was rejected, and the gate's validation
results. Built from the published marts only (read as the analyst role), so suppression holds.
The site is written beside the old one and swapped in whole. ``totalplace report`` does the same by
hand. Re-run: safe, the site is rewritten.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from totalplace.dag_defaults import MARTS_ASSET_URI, Tag, platform_dag
from totalplace.settings import Settings


@dag(**platform_dag(Asset(MARTS_ASSET_URI), Tag.LAYER_PUBLISH, __doc__))
def publish__place_profiles():
    @task
    def build_site() -> dict:
        """Write the site into the state folder's site/ (TOTALPLACE_STATE_DIR)."""
        from totalplace.report import build_site as build

        summary = build(Settings())
        return {"index": str(summary.index), "places": summary.places, "partners": summary.partners}

    build_site()


publish__place_profiles()
