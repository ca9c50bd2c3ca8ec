"""What the place profiles show, read from the published marts - and nothing else.

The marts are read as the ``analyst`` role, which sees the published marts only: the site cannot
show a raw row, an unsuppressed count or a build in progress, whatever a query here asks for. The
marts are small aggregates (a few thousand rows each), read whole and grouped by place in Python.
The file ledger (freshness per feed, the partner pages) is read as ``transformer``; it describes
files, never their rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from psycopg.rows import dict_row

from totalplace.settings import Settings
from totalplace.warehouse import connect, pipeline_url

# mart -> the column naming its place; every row of these is shown on that place's page
BY_PLACE = {
    "spend": ("mart_total_place", "place_code"),
    "cost_per_outcome": ("mart_cost_per_outcome", "lad_code"),
    "joint_outcomes": ("mart_joint_outcomes", "lad_code"),
    "crimes": ("mart_crimes_by_lad_month", "lad_code"),
    "neighbours": ("mart_place_neighbours", "lad_code"),
    "pooled_budgets": ("mart_pooled_budgets", "lad_code"),
    "funding_streams": ("mart_funding_streams", "authority_code"),
    "cohort": ("mart_multi_agency_cohort", "place_code"),
    "children_in_care": ("mart_children_in_care", "place_code"),
    "coverage": ("mart_coverage", "lad_code"),
}
ORDER = {
    "spend": "financial_year, agency_type, theme_code",
    "cost_per_outcome": "financial_year, indicator",
    "joint_outcomes": "financial_year, indicator, agency_type",
    "crimes": "month_start, crime_type",
    "neighbours": "neighbour_rank",
    "pooled_budgets": "financial_year, pool_name, agency_type",
    "funding_streams": "financial_year, figure_kind",
    "cohort": "financial_year, agencies_known_to",
    "children_in_care": "financial_year",
    "coverage": "financial_year, agency_type",
}


@dataclass
class Place:
    code: str
    name: str
    level: str
    population: int | None
    imd_average_rank: float | None
    marts: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    most_deprived: list[dict] = field(default_factory=list)
    lsoas: int = 0


def coverage_notes(place: Place) -> list[dict]:
    """Per financial year: the agencies whose data the place's figures cover, those they do not,
    whether the council's own return for the year is missing (dq_missing_returns), and whether any
    of it rests on generated files. A group of districts takes its districts' rows
    (already summed by mart_total_place's agencies_with_spend)."""
    years: dict[str, dict] = {}

    def note(y: str) -> dict:
        return years.setdefault(y, {"year": y, "with": [], "without": [], "synthetic": False, "return_missing": False})

    for row in place.marts.get("coverage", []):
        year = note(row["financial_year"])
        (year["with"] if row["has_spend"] or row["has_outcomes"] else year["without"]).append(row["agency_type"])
        year["synthetic"] |= bool(row["is_synthetic"])
    for row in place.marts.get("spend", []):  # a group's coverage, and what its spend rests on
        year = note(row["financial_year"])
        if not place.marts.get("coverage"):
            year["with"] = sorted(set(year["with"]) | set((row["agencies_with_spend"] or "").split(", ")) - {""})
        year["synthetic"] |= bool(row["is_synthetic"])
        year["return_missing"] |= bool(row.get("is_council_return_missing"))
    return [years[y] for y in sorted(years)]


@dataclass
class FeedFreshness:
    agency: str
    feed: str
    published: int
    quarantined: int
    last_published: datetime | None
    last_file: str | None


@dataclass
class SiteData:
    places: list[Place]
    freshness: list[FeedFreshness]
    files: dict[str, list[dict]]
    """sending body (partners.yml) -> every file it sent, newest first, with status, rows and the problems found."""
    built_at: datetime


def read_site_data(settings: Settings) -> SiteData:
    places, built_at = _read_places(pipeline_url(settings, "analyst"))
    freshness, files = _read_ledger(pipeline_url(settings, "transformer"))
    return SiteData(places, freshness, files, built_at)


def _read_places(url: str) -> tuple[list[Place], datetime]:
    """Every profiled place with its marts' rows, and the time they were read."""
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        built_at = conn.execute("select now()").fetchone()[0]
        cur.execute("select place_code, place_name, place_level, population, imd_average_rank "
                    "from marts.dim_place where place_level in ('lad', 'group') order by place_level, place_name")
        places = {r["place_code"]: Place(r["place_code"], r["place_name"], r["place_level"], r["population"],
                                         float(r["imd_average_rank"]) if r["imd_average_rank"] is not None else None)
                  for r in cur.fetchall()}
        for key, (mart, column) in BY_PLACE.items():
            cur.execute(f"select * from marts.{mart} order by {column}, {ORDER[key]}")  # noqa: S608 - names above
            for row in cur.fetchall():
                place = places.get(row[column])
                if place is not None:
                    place.marts[key].append(row)
        # deprivation by LSOA: no boundaries are loaded, so the profile lists the most deprived LSOAs
        cur.execute("select lad_code, place_code, place_name, population, imd_average_rank, "
                    "row_number() over (partition by lad_code order by imd_average_rank nulls last) as n, "
                    "count(*) over (partition by lad_code) as lsoas "
                    "from marts.dim_place where place_level = 'lsoa'")
        for row in cur.fetchall():
            place = places.get(row["lad_code"])
            if place is not None:
                place.lsoas = row["lsoas"]
                if row["n"] <= 10:
                    place.most_deprived.append(row)
    for place in places.values():
        place.most_deprived.sort(key=lambda r: r["n"])
    # a place is profiled when some mart says something about it
    return [p for p in places.values() if any(p.marts.values())], built_at


def _read_ledger(url: str) -> tuple[list[FeedFreshness], dict[str, list[dict]]]:
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "select agency, feed, count(*) filter (where status = 'published') as published, "
            "count(*) filter (where status = 'quarantined') as quarantined, "
            "max(finished_at) filter (where status = 'published') as last_published, "
            "(array_agg(name order by finished_at desc) filter (where status = 'published'))[1] as last_file "
            "from ops.file_ledger group by 1, 2 order by 1, 2")
        freshness = [FeedFreshness(**r) for r in cur.fetchall()]
        cur.execute(
            "select file_id, agency, feed, name, status, rows, bytes, received_at, finished_at, error, sent_by, "
            "report->'problems' as problems, report->>'suite' as suite, "
            "report->'warnings' as warnings "
            "from ops.file_ledger order by received_at desc, file_id desc")
        files: dict[str, list[dict]] = defaultdict(list)
        for row in cur.fetchall():
            files[row["sent_by"] or row["agency"]].append(row)
    return freshness, dict(files)
