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
    partner = (site / "partners" / "city-of-london-police.html").read_text()  # one page per sending body
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


def test_a_place_page_says_what_its_figures_cover_and_which_rest_on_generated_data(sftp, airflow_home, tmp_path):
    """A file the platform generated is entered in the ledger as synthetic and every fact and mart row
    built on it says so; the place's page labels it, and notes which agencies its figures cover - seen
    in a real browser, not only in the HTML written."""
    from connectors.sftp import open_account
    from devtools import generate_data as gen
    from totalplace.warehouse import connect

    city = [("E01000001", "City of London 001A"), ("E01000002", "City of London 001B")]
    generated = gen.mark_generated(sftp, gen.write_police_csv(tmp_path / "2021-06-city-street.csv", 300, city,
                                                              month="2021-06"))
    with open_account(sftp, "city_of_london_police") as police:
        police.upload(POLICE_SAMPLE, "street_crime")
        police.upload(generated, "street_crime")
    run = pipeline.run_all(sftp)
    assert run.ok, [(r.dag_id, r.state, r.failed_tasks) for r in run.dag_results]
    with connect(sftp.warehouse_url) as conn:
        flags = dict(conn.execute("select name, synthetic from ops.file_ledger where feed = 'street_crime'"))
        coverage = conn.execute(
            "select financial_year, agency_type, has_outcomes, is_synthetic from marts.mart_coverage "
            "where lad_code = %s and (has_spend or has_outcomes) order by 1", (CITY,)).fetchall()
    assert flags == {POLICE_SAMPLE.name: False, generated.name: True}
    assert coverage == [("2019-20", "police", True, False), ("2021-22", "police", True, True)]

    dom, console = open_in_chromium(sftp.site_dir / "places" / f"{CITY}.html", tmp_path / "chromium")
    assert console == [], console
    text = " ".join(re.sub(r"<[^>]+>", " ", dom).split())
    assert "Synthetic data." in text and "not on data a partner sent: 2021-22." in text
    assert "What these figures cover." in text
    assert re.search(r"2019-20: data from police; none from council, fire, housing, nhs - not comparable", text), text
