"""``totalplace report``: the place profiles, a static HTML site built from the published marts.

One page per place (spend per head by agency and theme, cost per outcome and its trend, outcomes
ranked against statistical neighbours, funding streams and pooled budgets, crime by month, the most
deprived neighbourhoods, cohorts), an index with the data's freshness per feed, a page per partner
listing each file it sent and why a file was rejected, the gate's validation results, and the dbt
data dictionary when it has been generated. Plain files with their assets beside them: open
``index.html`` from disk, or serve the folder with any static web server (docker-compose does).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from totalplace.mappings import slug
from totalplace.report import charts
from totalplace.report.data import Place, SiteData, coverage_notes, read_site_data
from totalplace.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
PLACE_CHARTS = {"spend": charts.spend_per_head, "cost_per_outcome": charts.cost_per_outcome,
                "joint_outcomes": charts.joint_outcomes, "crimes": charts.crimes_by_month,
                "pooled_budgets": charts.pooled_budgets}
"""The charts of a place's page, in page order: the mart rows they draw (``Place.marts``) -> figure builder."""
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2733; background: #f4f6f8; }
header { background: #1d2733; color: white; padding: .6rem 1.5rem; display: flex; gap: 2rem; align-items: baseline; }
header a { color: white; text-decoration: none; margin-right: 1rem; } .brand { font-weight: 700; font-size: 1.2rem; }
main { max-width: 1150px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
.lead { font-size: 1.05rem; color: #44505c; }
.chart { background: white; border: 1px solid #dde3ea; border-radius: 6px; margin: 1rem 0; height: 420px; }
table { border-collapse: collapse; width: 100%; background: white; margin: .5rem 0 1.5rem; font-size: .92rem; }
th, td { border-bottom: 1px solid #e3e8ee; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #eef2f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
#filter { padding: .4rem; width: 20rem; margin-bottom: .5rem; }
.status { padding: .1rem .45rem; border-radius: 3px; font-size: .85rem; background: #e3e8ee; }
.status.published { background: #d5f0e0; } .status.quarantined, .status.failed { background: #fbe3c8; }
.status.duplicate, .status.superseded { background: #dfeaf7; }
.problem { margin: .15rem 0; } .warning { margin: .15rem 0; color: #7a5a00; }
tr.stale td { color: #8a94a0; }
.synthetic { background: #fde2e1; color: #8a1c12; padding: .05rem .4rem; border-radius: 3px; font-size: .8rem; }
.synthetic-label { background: #fde2e1; border-left: 4px solid #c0392b; padding: .5rem .8rem; }
.coverage { background: #eef4fb; border-left: 4px solid #3b6ea8; padding: .4rem .8rem; margin: .6rem 0; }
.coverage ul { margin: .3rem 0; }
footer { max-width: 1150px; margin: 0 auto; padding: 1rem 1.5rem 2rem; color: #6b7682; font-size: .85rem; }
"""


@dataclass
class SiteSummary:
    folder: Path
    places: int
    partners: int
    files: int
    dbt_docs: bool

    @property
    def index(self) -> Path:
        return self.folder / "index.html"


def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True)

    def number(value, digits: int = 1) -> str:
        return "" if value is None else f"{float(value):,.{digits}f}"

    env.filters.update(
        thousands=lambda v: "" if v is None else f"{float(v):,.0f}",
        money=lambda v: "" if v is None else (f"£{float(v):,.2f}" if abs(float(v)) < 1000 else f"£{float(v):,.0f}"),
        number=number,
        percent=lambda v: "" if v is None else f"{float(v) * (100 if abs(float(v)) <= 1 else 1):.1f}%",
        # a count of people the mart withheld (small-number suppression) is NULL: say so
        people=lambda v: "withheld" if v is None else f"{float(v):,.0f}",
    )
    return env


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _place_charts(place: Place) -> dict[str, dict]:
    built = {key: build(place.marts.get(key, [])) for key, build in PLACE_CHARTS.items()}
    return {key: figure for key, figure in built.items() if figure is not None}


def _per_head(place: Place, year: str | None) -> tuple[float | None, list[str], dict[str, float]]:
    by_agency: dict[str, float] = {}
    for r in place.marts.get("spend", []):
        if r["financial_year"] == year and r["amount_per_head"] is not None:
            by_agency[r["agency_type"]] = by_agency.get(r["agency_type"], 0.0) + float(r["amount_per_head"])
    agencies = sorted({r["agency_type"] for r in place.marts.get("spend", [])})
    return (sum(by_agency.values()) if by_agency else None), agencies, by_agency


def build_site(settings: Settings, out: Path | None = None, data: SiteData | None = None) -> SiteSummary:
    """Write the site into ``out`` (default: ``site/`` in the state folder), replacing what was there."""
    from plotly.offline import get_plotlyjs

    out = out or settings.site_dir
    data = data or read_site_data(settings)
    staging = out.with_name(out.name + ".new")  # written aside, then swapped: a reader never sees half a site
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "assets").mkdir(parents=True)
    (staging / "places").mkdir()
    (staging / "partners").mkdir()
    (staging / "assets" / "plotly.min.js").write_text(get_plotlyjs())
    (staging / "assets" / "site.css").write_text(CSS)
    dbt_docs = _copy_dbt_docs(settings, staging)
    env = _environment()
    env.policies["json.dumps_function"] = lambda obj, **kw: json.dumps(obj, default=_json_default, **kw)
    common = {"built_at": data.built_at, "dbt_docs": dbt_docs}

    def write(path: Path, template: str, root: str, **context) -> None:
        context.setdefault("charts", {})
        path.write_text(env.get_template(template).render(root=root, **common, **context))

    year = charts.best_covered_year([r for p in data.places for r in p.marts.get("spend", [])])
    rows = []
    for place in data.places:
        per_head, agencies, by_agency = _per_head(place, year)
        # the residents per head is of: that year's estimate (mart_total_place), not dim_place's mid-2019
        residents = next((r["population"] for r in place.marts.get("spend", [])
                          if r["financial_year"] == year and r.get("population")), None)
        rows.append({"code": place.code, "name": place.name, "population": residents or place.population,
                     "agencies": agencies, "per_head": per_head, "by_agency": by_agency})
        write(staging / "places" / f"{place.code}.html", "place.html.j2", "../", title=place.name, place=place,
              coverage=coverage_notes(place),
              charts=_place_charts(place), chart_order=tuple(PLACE_CHARTS))
    # the index chart: the places with the most agencies' spend, the richest comparisons
    richest = sorted((r for r in rows if r["by_agency"]), key=lambda r: (-len(r["by_agency"]), r["name"]))[:15]
    overview = {"overview": charts.spend_per_head_index([(r["name"], r["by_agency"]) for r in richest]),
                "crime_rates": _crime_rates(data.places)}
    write(staging / "index.html", "index.html.j2", "", title="Place profiles", places=rows, year=year,
          freshness=data.freshness, charts={k: v for k, v in overview.items() if v})

    agencies = []  # one page per sending body: the files each council, force, board ... sent
    for body, files in sorted(data.files.items()):
        write(staging / "partners" / f"{slug(body)}.html", "agency.html.j2", "../", title=f"Files from {body}",
              agency=body, files=files)
        agencies.append({"agency": body, "page": slug(body), "type": files[0]["agency"], "files": len(files),
                         "latest": files[0]["received_at"],
                         "published": sum(f["status"] == "published" for f in files),
                         "quarantined": sum(f["status"] == "quarantined" for f in files)})
    write(staging / "partners.html", "partners.html.j2", "", title="Partners' files", agencies=agencies)
    validated = [f for files in data.files.values() for f in files if f["suite"]]
    validated.sort(key=lambda f: -f["file_id"])
    docs = _copy_data_docs(settings, staging, {f["file_id"] for f in validated})
    for f in validated:
        f["data_docs"] = f["file_id"] in docs
    write(staging / "validation.html", "validation.html.j2", "", title="Validation results", files=validated,
          total=len(validated), passed=sum(not f["problems"] for f in validated))

    from totalplace.state import publish_tree

    publish_tree(staging)  # published output, for any web server's user: folders 0755, files 0644
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return SiteSummary(out, len(data.places), len(agencies), sum(len(f) for f in data.files.values()), dbt_docs)


def _crime_rates(places: list[Place]) -> dict | None:
    """The index's crime chart: per 1,000 residents in the latest month any place has, highest 15."""
    latest = max((r["month_start"] for p in places for r in p.marts.get("crimes", [])), default=None)
    if latest is None:
        return None
    rates = []
    for p in places:
        month = [r for r in p.marts.get("crimes", []) if r["month_start"] == latest and r["crimes_per_1000"] is not None]
        if month:
            rates.append((p.name, round(sum(float(r["crimes_per_1000"]) for r in month), 2)))
    rates.sort(key=lambda x: -x[1])
    return charts.crime_rates_index(rates[:15], latest.strftime("%B %Y"))


EXTERNAL_ASSET = re.compile(r'<script[^>]+src="https?://[^"]*"[^>]*>\s*</script>|<link[^>]+href="https?://[^"]*"[^>]*>'
                            r'|<img[^>]+src="https?://[^"]*"[^>]*>')


def _copy_data_docs(settings: Settings, site: Path, file_ids: set[int]) -> set[int]:
    """GX's Data Docs page of each validated file (written by the gate), without the CDN scripts,
    stylesheets and images GX links (the site works offline), styled by the site's stylesheet."""
    copied = set()
    (site / "validations").mkdir()
    for file_id in sorted(file_ids):
        page = settings.validations_dir / f"{file_id}.html"
        if page.exists():
            html = EXTERNAL_ASSET.sub("", page.read_text())
            html = html.replace("</head>", '<link rel="stylesheet" href="../assets/site.css"></head>', 1)
            (site / "validations" / f"{file_id}.html").write_text(html)
            copied.add(file_id)
    return copied


def generate_dbt_docs(settings: Settings) -> None:
    """``dbt docs generate --static``: the data dictionary as one self-contained page (about 12 s),
    which the next ``build_site`` links from every page."""
    from totalplace.dbt import run_dbt
    from totalplace.warehouse import pipeline_url

    result = run_dbt(settings, pipeline_url(settings, "transformer"), "docs", "generate", "--static", capture=True)
    if result.returncode != 0:
        raise RuntimeError("dbt docs generate failed: " + (result.stdout.strip().splitlines() or ["?"])[-1])


def _copy_dbt_docs(settings: Settings, site: Path) -> bool:
    """The dbt data dictionary (``dbt docs generate --static``: one self-contained page), when generated."""
    from totalplace.dbt import dbt_target_dir

    page = dbt_target_dir(settings) / "static_index.html"
    if not page.exists():
        return False
    (site / "dbt").mkdir()
    shutil.copy2(page, site / "dbt" / "index.html")
    return True
