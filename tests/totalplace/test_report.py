"""The place profiles: built by their DAG after a real warehouse publish, then opened in a real
headless Chromium - the charts must render (plotly's SVG in every chart box) with nothing in the
browser console, and a screenshot of a profile is kept in the state folder."""

from __future__ import annotations

import re

import pytest
from conftest import POLICE_SAMPLE, drop_sample_and_damaged, open_in_chromium

from totalplace import pipeline

pytestmark = pytest.mark.slow

CITY = "E09000001"  # City of London: the police sample's district


def test_profiles_are_built_after_a_publish_and_render_in_a_browser(sftp, airflow_home, tmp_path):
    drop_sample_and_damaged(sftp, tmp_path)
    run = pipeline.run_all(sftp)
    assert run.ok, [(r.dag_id, r.state, r.failed_tasks) for r in run.dag_results]
    assert run.dag_results[-1].dag_id == "publish__place_profiles"

    site = sftp.site_dir
    index, profile = site / "index.html", site / "places" / f"{CITY}.html"
    assert index.exists() and profile.exists()
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000  # plotly.js itself: no internet needed
    assert "cdn" not in profile.read_text().lower()

    # the partner's page: both files, the rejected one with the column and line, not the value
    partner = (site / "partners" / "police.html").read_text()
    assert POLICE_SAMPLE.name in partner and "damaged.csv" in partner
    rejected = partner[partner.index("damaged.csv"):]
    assert "quarantined" in rejected[:600] and "Month" in rejected and "first on line 3" in rejected
    assert "2020-13" not in partner

    # GX's own Data Docs page of each file's validation, offline and without the file's values
    validation = (site / "validation.html").read_text()
    docs = sorted(site.glob("validations/*.html"))
    assert len(docs) >= 2 and all(f'href="validations/{d.name}"' in validation for d in docs)
    for page in docs:
        html = page.read_text()
        assert "Expectation Validation Result" in html
        assert not re.search(r'(src|href)="https?://[^"]*\.(js|css)', html) and "2020-13" not in html
    police = [d.read_text() for d in docs if "police.street_crime.landing" in d.read_text()]
    status = sorted(re.search(r'Status:</span> <i class="fas fa-([a-z-]+)', html)[1] for html in police)
    assert status == ["check-circle", "times"]  # the sample passed, the damaged copy failed

    shots = sftp.state_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    for page, shot in ((index, shots / "index.png"), (profile, shots / f"place-{CITY}.png")):
        dom, console = open_in_chromium(page, tmp_path / "chromium", shot)
        assert console == [], console
        boxes = re.findall(r'<div class="chart[^"]*" id="([a-z_]+)"', dom)
        assert boxes, "no chart on the page"
        # plotly.js draws each chart as SVG inside its box ("main-svg"); an empty box means it failed
        drawn = dom.count('class="main-svg"')
        assert drawn >= len(boxes), (boxes, drawn)
        assert shot.stat().st_size > 20_000
    assert {"crimes"} <= set(re.findall(r'<div class="chart[^"]*" id="([a-z_]+)"', profile.read_text()))
