"""Finding 7: a partner's text drawn as live HTML, and formula cells exported raw.

plotly renders a subset of HTML in its labels, so a pooled budget named
``<a href="https://evil.example/">`` became a live link on a place page; ``totalplace sql --format csv``
wrote ``=HYPERLINK(...)`` cells as they were, which a spreadsheet runs. Every text from a partner is
plain text in the charts, and CSV exports escape formula cells as the outbox reports already do."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import POLICE_SAMPLE, open_in_chromium, run_cli, write_variant
from hostile import drop_and_run

from devtools.generate_data import write_pooled_budgets_csv

CITY = "E09000001"
EVIL = '<a href="https://evil.example/">Click for the budget</a> <b>bold</b> <img src=x onerror=alert(1)>'


@pytest.mark.slow
def test_a_partners_text_is_plain_text_in_the_charts(sftp, airflow_home, tmp_path):
    source = write_pooled_budgets_csv(tmp_path / "pools.csv", [(CITY, "City of London")])
    def rename_the_pool(rows):
        for row in rows[1:]:
            if row[1].endswith("Better Care Fund"):
                row[1] = EVIL
    pools = write_variant(source, tmp_path / "pools-named-by-a-hostile-partner.csv", rename_the_pool)
    run = drop_and_run(sftp, [("anytown", "pooled_budgets", pools), ("city_of_london_police", "street_crime", POLICE_SAMPLE)])
    assert [f.status for f in run.files if f.feed == "pooled_budgets"] == ["published"]

    page = sftp.site_dir / "places" / f"{CITY}.html"
    assert "Click for the budget" in page.read_text()  # the hostile name is on the page ...
    dom, console = open_in_chromium(page, tmp_path / "chromium", sftp.state_dir / "pooled-budgets.png")
    assert console == [], console
    chart = dom[dom.index('id="pooled_budgets"'):]
    assert "Click for the budget" in chart and 'class="main-svg"' in chart  # ... drawn in the chart ...
    # ... as text: no link, no image, no handler made of it anywhere in the rendered page
    elements = _elements(dom)
    links = [a for tag, a in elements if any("evil.example" in (v or "") for k, v in a if k.endswith("href"))]
    handlers = [(tag, a) for tag, a in elements if any(k == "onerror" for k, _ in a)]
    assert links == [] and handlers == [] and [t for t, _ in elements if t == "img"] == []
    bold = [a for tag, a in elements if tag == "tspan" and "bold" in dict(a).get("style", "")]
    assert bold == [], "a partner's <b> drawn bold"


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of a page with its attributes, as a browser's DOM has them (text is not an element)."""
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_csv_exports_escape_formula_cells(settings):
    out = run_cli(settings, "sql", "--format", "csv",
                  "select '=HYPERLINK(\"https://evil.example/\",\"x\")' as a, '+cmd|'' /C calc''!A0' as b, "
                  "'@SUM(1+1)*cmd' as c, '-2+3' as d, -5 as n, 1.5 as x, 'plain' as e")
    assert out.returncode == 0, out.stderr
    header, row = list(csv.reader(io.StringIO(out.stdout)))
    assert header == ["a", "b", "c", "d", "n", "x", "e"]
    assert [cell[0] for cell in row[:4]] == ["'"] * 4, row
    assert row[4:] == ["-5", "1.5", "plain"]  # numbers stay numbers


def test_a_carriage_return_in_a_value_does_not_start_a_formula(settings):
    """A pool named "City\r=1+1" (a bare CR) was written unquoted: spreadsheets read the CR as a line
    break, and the next line's first cell was a live formula. Read as bytes: text mode would turn the
    CR into a newline before the test sees it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from totalplace.airflow_env import settings_environment

    out = subprocess.run([str(Path(sys.executable).with_name("totalplace")), "sql", "--format", "csv",
                          "select E'City\\r=1+1' as pool, E'a\\n@SUM(1)' as b"],
                         capture_output=True, env={**os.environ, **settings_environment(settings)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert b'"City\r=1+1"' in out.stdout and b'"a\n@SUM(1)"' in out.stdout  # quoted whole: one cell each
    header, row = list(csv.reader(io.StringIO(out.stdout.decode(), newline="")))
    assert row == ["City\r=1+1", "a\n@SUM(1)"]
