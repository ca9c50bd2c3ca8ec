"""Person-level feeds reach the finance and outcome marts only as disclosure-controlled aggregates.

A probe of the demo read, as the analyst, one row per A&E attendance and hospital admission in
`marts.fct_spend` - the patient's LSOA, the date, the diagnosis group, the cost and the file and row
it came from - and unrounded counts of 1-7 alcohol- and drug-related attendances and admissions and
lettings to homeless households in `marts.fct_outcomes` (the City of London's two men of April 2021).

The test builds the whole warehouse by write-audit-publish (so the audit must hold: spend in
fct_spend per file equal to the file's own total, to the penny) from generated person-level
extracts of every agency - three months of A&E attendances over two financial years, two of
admissions and of social lettings - beside open data (street crime), and plays the analyst: reading
only `marts` and the project's documentation (seeds, vars), it looks for

* a row of a person-level feed (a feed whose contract lists `person_identifiers`) that carries row
  lineage, an LSOA, a date finer than a month or a value that describes the event (a diagnosis
  group, say): a row about one person's event;
* a count derived from a person-level feed that is 1-7 or not rounded: every integer column of every
  mart downstream of a person-level source (dbt's manifest says which) is a count, unless NOT_COUNTS
  says why not; rates are turned back into counts with the published population;
* a withheld figure it can work out: months against their financial year (fct_outcomes against
  mart_cost_per_outcome and mart_joint_outcomes' rates), the cells of a file against the file's
  total (fct_spend, whose per-file sum is exact), fct_spend against mart_total_place, districts
  against groups of districts; and ranks computed from anything but published values;

and, against the exact figures the marts were built from (intermediate, read as the admin), a
published figure resting on 1-7 events, or withheld figures of a file adding up to 1-7 events.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
import yaml
from conftest import POLICE_SAMPLE
from psycopg import sql

from devtools import generate_data as gen
from devtools import generate_people as gp
from totalplace import dbt, ingest, transform
from totalplace.access import as_role
from totalplace.contracts import get_contract, load_contracts
from totalplace.reference import REFERENCE_DIR
from totalplace.settings import PROJECT_ROOT
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow

CONTRACTS = load_contracts(PROJECT_ROOT / "feeds")
PERSON_LEVEL = sorted(f"{c.agency}/{c.feed}" for c in CONTRACTS.values() if c.person_identifiers)
VARS = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
THRESHOLD = int(VARS["suppression_threshold"])
COUNT_BASE = int(VARS["rounding_base"])
MONEY_BASE = Decimal(VARS.get("money_rounding_base", "0.01"))

EXTRACTS = {
    # as many residents as the demo (demo.DEMO_PEOPLE): the City of London has a handful of them
    "demo": {"people": 40_000, "offenders": 900, "cases": 500, "attendances": 4000, "admissions": 1500,
             "lettings": 500},
    # a tenth of the people: small cells everywhere
    "small": {"people": 4000, "offenders": 600, "cases": 400, "attendances": 1500, "admissions": 600,
              "lettings": 250},
}

NOT_COUNTS = {
    # integer columns of marts downstream of a person-level feed that are not counts of people or events
    "population": "residents (ONS estimate)",
    "denominator": "residents (ONS estimate)",
    "population_year": "a year",
    "calendar_year": "a year",
    "child_population": "residents aged 0-17 (ONS estimate)",
    "months_covered": "months of the calendar a row stands for",
    "months_with_data": "months of the calendar with data",
    "top_percent": "a percentage the mart chooses",
    "neighbour_rank": "a rank of districts by likeness",
    "neighbours_with_data": "districts",
    "rank_among_neighbours": "a rank (checked below: from published values only)",
    "place_crime_rank_among_neighbours": "a rank of crime rates (open data)",
    "file_id": "lineage",
    "row_number": "lineage (checked below: none on a person-level feed's row)",
    "column_number": "lineage",
    "spend_lines": "published rows of fct_spend behind a figure (checked below: not events)",
    "funding_streams": "grants",
    "easting": "a coordinate",
    "northing": "a coordinate",
    "other_agency_assets_nearby": "buildings",
    "mapping_rules": "rules of a seed",
}

# Today's indicators and their feeds, used only while fct_outcomes does not say (it should: a count
# must be known to be person-level to be judged) - so that the test still reads today's marts.
TODAYS_INDICATORS = {
    "crimes": "police/street_crime", "drug_crimes": "police/street_crime", "violent_crimes": "police/street_crime",
    "asb_incidents": "police/street_crime", "ae_attendances": "nhs/ae_attendances",
    "ae_alcohol_attendances": "nhs/ae_attendances", "ae_drug_attendances": "nhs/ae_attendances",
    "emergency_admissions": "nhs/hospital_admissions", "alcohol_admissions": "nhs/hospital_admissions",
    "drug_admissions": "nhs/hospital_admissions", "homelessness_main_duty": "housing/homelessness",
    "lettings_to_homeless": "housing/social_lettings",
}
INF = Decimal("Infinity")


def financial_year(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def build_warehouse(settings, folder, size: dict) -> None:
    """Person-level extracts of every agency and open street crime, loaded through the intake and
    published by write-audit-publish (the build, every dbt test, the audit, the swap)."""
    people = gp.population(gp.read_postcodes(settings.postcode_lookup_file), size["people"])
    lookup = REFERENCE_DIR / "ons_lsoa_lookup.csv"
    lsoas, lads = gen.london_lsoas(lookup, limit=400), gen.london_lads(lookup)
    offences = gp.write_offences_csv(folder / "offences.csv", people, offenders=size["offenders"])
    ae, adm = size["attendances"], size["admissions"]
    drops = [
        ("police", "street_crime", POLICE_SAMPLE),  # open data: its counts are not controlled
        ("police", "offences", offences),
        ("council", "children_in_care", gp.write_children_in_care_csv(folder / "cic.csv", people)),
        ("housing", "homelessness_cases",
         gp.write_homelessness_cases_csv(folder / "cases.csv", people, offences_csv=offences, cases=size["cases"])),
        # March 2021 is in 2020-21, April and May in 2021-22: months add up to financial years
        *[("nhs", "ae_attendances",
           gen.write_ae_attendances_csv(folder / f"ae-{month}.csv", rows, [], month=month, seed=seed,
                                        population=people)[0])
          for month, rows, seed in (("2021-03", ae // 4, 31), ("2021-04", ae, 41), ("2021-05", ae // 2, 51))],
        *[("nhs", "hospital_admissions",
           gen.write_hospital_admissions_csv(folder / f"adm-{month}.csv", rows, [], month=month, seed=seed,
                                             population=people))
          for month, rows, seed in (("2021-04", adm, 42), ("2021-05", adm // 2, 52))],
        *[("housing", "social_lettings",
           gen.write_social_lettings_xlsx(folder / f"lettings-{month}.xlsx", size["lettings"], lsoas, lads,
                                          month=month, seed=seed))
          for month, seed in (("2021-04", 43), ("2021-05", 53))],
    ]
    for agency, feed, path in drops:
        outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)
        assert outcome.status == "published", (feed, path.name, outcome.error)
    # the transform DAG's steps: build, audit (every pound of every file, to the penny), publish
    transform.build_and_publish(settings)


def upstream_feeds(settings) -> dict[str, set[str]]:
    """Every mart -> the feeds ('agency/feed') of the raw tables upstream of it (dbt's manifest)."""
    doc = json.loads((dbt.build_target_dir(settings) / "manifest.json").read_text())
    feeds = {uid: f"{n['source_name'].removeprefix('raw_')}/{n['name'].split('__', 1)[1]}"
             for uid, n in doc["sources"].items() if n["source_name"].startswith("raw_")}
    feeds.update({uid: None for uid, n in doc["sources"].items() if uid not in feeds})  # the platform's own (ops)
    parents = doc["parent_map"]

    @functools.cache
    def above(uid: str) -> frozenset[str]:
        if uid in feeds:
            return frozenset({feeds[uid]} - {None})
        return frozenset().union(*(above(p) for p in parents.get(uid, [])))

    return {n["alias"] or n["name"]: set(above(uid)) for uid, n in doc["nodes"].items()
            if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")}


def marts_columns(conn) -> dict[str, dict[str, str]]:
    """table -> column -> data type, of every table in marts the analyst may read."""
    columns: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, dtype in conn.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"):
        columns[table][column] = dtype
    return columns


def count(conn, query: sql.Composable, params=()) -> int:
    return conn.execute(query, params).fetchone()[0]


class Analyst:
    """What the analyst reads, and which of it comes from person-level feeds."""

    def __init__(self, conn, columns: dict[str, dict[str, str]], indicators: dict[str, str]):
        self.conn, self.columns, self.indicators = conn, columns, indicators
        self.person_indicators = sorted(i for i, f in indicators.items() if f in PERSON_LEVEL)

    def person_rows(self, table: str) -> tuple[sql.Composable, list]:
        """A condition selecting the rows of `table` that come from person-level feeds."""
        cols = self.columns[table]
        if "feed" in cols:
            return sql.SQL("feed = any(%s)"), [PERSON_LEVEL]
        if "indicator" in cols:  # mart_joint_outcomes names rates '<indicator>_per_1000'
            return sql.SQL("regexp_replace(indicator, '_per_1000$', '') = any(%s)"), [self.person_indicators]
        return sql.SQL("true"), []

    def count_where(self, table: str, condition: sql.Composable, params=()) -> int:
        where, base = self.person_rows(table)
        return count(self.conn, sql.SQL("select count(*) from {} where {} and ({})").format(
            sql.Identifier("marts", table), where, condition), [*base, *params])


def describing_values(admin) -> dict[str, list[str]]:
    """feed -> the values of its person-level rows' describing columns (text that is no identifier, key,
    code or reference: a diagnosis group, a disposal, a reason for housing ...), as sent."""
    out = {}
    for c in CONTRACTS.values():
        if not c.person_identifiers:
            continue
        keys = {k.column for k in (c.place_key, c.period_key) if k}
        values: set[str] = set()
        for col in c.columns:
            if (col.type != "text" or col.identifier or col.name in c.person_identifiers or col.name in keys
                    or col.pattern or re.search(r"(_id|_ref|_reference|_code|_key)$", col.name)):
                continue
            values |= {v for (v,) in admin.execute(sql.SQL("select distinct {} from {} where {} <> ''").format(
                sql.Identifier(col.name), sql.Identifier("raw", c.key), sql.Identifier(col.name)))}
        out[f"{c.agency}/{c.feed}"] = sorted(values)
    return out


def rows_about_events(a: Analyst, derived: set[str], describing: dict[str, list[str]]) -> list[str]:
    """Rows of person-level feeds with row lineage, an LSOA, a date finer than a month or a value describing the event."""
    found = []
    for table in sorted(derived):
        cols = a.columns[table]
        for col, dtype in cols.items():
            ident = sql.Identifier(col)
            if col in ("row_number", "_row_number"):
                n = a.count_where(table, sql.SQL("{} is not null").format(ident))
                if n:
                    found.append(f"{table}: {n:,} rows of person-level feeds carry their row lineage ({col})")
            elif dtype == "text":
                n = a.count_where(table, sql.SQL("{} ~ '^[EW]01[0-9]{{6}}$'").format(ident))
                if n:
                    found.append(f"{table}.{col}: {n:,} rows of person-level feeds at LSOA grain")
                if "feed" in cols:
                    for feed, values in describing.items():
                        n = a.count_where(table, sql.SQL("feed = %s and {} = any(%s)").format(ident), [feed, values])
                        if n:
                            found.append(f"{table}.{col}: {n:,} rows of {feed} describe the event "
                                         f"(values of its columns as sent, e.g. a diagnosis group)")
            elif dtype == "date":
                n = a.count_where(table, sql.SQL("{0} <> date_trunc('month', {0})::date").format(ident))
                if n:
                    found.append(f"{table}.{col}: {n:,} rows of person-level feeds dated to the day")
    return found


def small_counts(a: Analyst, derived: set[str]) -> list[str]:
    """Counts from person-level feeds that are 1-7 or not rounded, in every mart downstream of one."""
    found = []
    for table in sorted(derived):
        for col, dtype in a.columns[table].items():
            if dtype not in ("integer", "bigint", "smallint") or col in NOT_COUNTS:
                continue
            ident = sql.Identifier(col)
            few = a.count_where(table, sql.SQL("{} between 1 and %s").format(ident), [THRESHOLD])
            unrounded = a.count_where(table, sql.SQL("{} %% %s <> 0").format(ident), [COUNT_BASE])
            if few or unrounded:
                detail = ""
                if "indicator" in a.columns[table]:
                    where, params = a.person_rows(table)
                    detail = " (" + ", ".join(f"{i}: {n}" for i, n in a.conn.execute(
                        sql.SQL("select indicator, count(*) from {} where {} and {} between 1 and %s "
                                "group by 1 order by 1").format(sql.Identifier("marts", table), where, ident),
                        [*params, THRESHOLD])) + ")"
                found.append(f"{table}.{col}: {few:,} counts of 1-{THRESHOLD} from person-level feeds{detail}, "
                             f"{unrounded:,} not rounded to {COUNT_BASE}")
    return found


def spend_lines_are_rows(a: Analyst) -> list[str]:
    """spend_lines is not a count of events: in mart_total_place it is the fct_spend rows a figure sums,
    in the data-quality marts at most the fct_spend rows of the feed."""
    found = []
    wrong = a.conn.execute(
        "with rows as (select f.financial_year, coalesce(p.lad_code, f.place_code) as lad_code, f.theme_code, "
        "count(*) as n from marts.fct_spend f left join marts.dim_place p "
        "on p.place_code = f.place_code and p.place_level = f.place_level where f.feed = any(%s) group by 1, 2, 3) "
        "select count(*) from marts.mart_total_place t join rows on rows.lad_code = t.place_code "
        "and rows.financial_year = t.financial_year and rows.theme_code = t.theme_code "
        "where t.place_level = 'lad' and t.agency_type = 'nhs' and t.spend_lines <> rows.n", [PERSON_LEVEL]).fetchone()[0]
    if wrong:
        found.append(f"mart_total_place.spend_lines: {wrong} NHS figures do not count the fct_spend rows they sum")
    for table in ("dq_unplaced_spend", "dq_unmapped_spend"):
        over = a.conn.execute(sql.SQL(
            "select count(*) from (select feed, sum(spend_lines) as n from {} where feed = any(%s) group by 1) d "
            "where d.n > (select count(*) from marts.fct_spend f where f.feed = d.feed)").format(
                sql.Identifier("marts", table)), [PERSON_LEVEL]).fetchone()[0]
        if over:
            found.append(f"{table}.spend_lines: counts more than the rows fct_spend publishes")
    return found


# --- outcomes: months within financial years, rates, ranks -------------------------------------------

def count_interval(value) -> tuple[Decimal, Decimal]:
    """Where an exact count lies, given the published one (rounded to the base; 1-7 never published)."""
    if value == 0:
        return Decimal(0), Decimal(0)
    return max(Decimal(THRESHOLD + 1), Decimal(value) - COUNT_BASE // 2), Decimal(value) + (COUNT_BASE - 1) // 2


def pinned(lo: Decimal, hi: Decimal) -> bool:
    """As precise as a published count (or more)."""
    return hi < INF and math.floor(hi) - math.ceil(lo) + 1 <= COUNT_BASE


def outcome_figures(a: Analyst) -> tuple[dict, dict, list[str]]:
    """(months, years, findings): every published count of a person-level indicator - months from
    fct_outcomes ((indicator, lad, year, month) -> count, None when withheld), years as the interval
    their figures in mart_cost_per_outcome and mart_joint_outcomes (a rate x population / 1000) allow."""
    found = []
    months = {(i, lad, fy, m): n for i, lad, fy, m, n in a.conn.execute(
        "select indicator, lad_code, financial_year, month_start, numerator from marts.fct_outcomes "
        "where indicator = any(%s)", [a.person_indicators])}
    years: dict[tuple, tuple[Decimal, Decimal]] = {}

    def narrow(key, lo, hi):
        old_lo, old_hi = years.get(key, (Decimal(0), INF))
        years[key] = (max(lo, old_lo), min(hi, old_hi))

    for i, lad, fy, n in a.conn.execute(
            "select distinct indicator, lad_code, financial_year, outcomes from marts.mart_cost_per_outcome "
            "where indicator = any(%s)", [a.person_indicators]):
        if n is not None:
            narrow((i, lad, fy), *count_interval(n))
    population = {(lad, fy): n for lad, fy, n in a.conn.execute(
        "select lad_code, financial_year, population from marts.fct_population")}
    for i, lad, fy, value in a.conn.execute(
            "select regexp_replace(indicator, '_per_1000$', ''), lad_code, financial_year, value "
            "from marts.mart_joint_outcomes where regexp_replace(indicator, '_per_1000$', '') = any(%s)",
            [a.person_indicators]):
        if value is None:
            continue
        pop = Decimal(population[lad, fy])  # the rate is of the year's population
        lo, hi = (value - Decimal("0.0005")) * pop / 1000, (value + Decimal("0.0005")) * pop / 1000
        implied = round(value * pop / 1000)
        if 1 <= implied <= THRESHOLD or abs(value * pop / 1000 - COUNT_BASE * round(implied / COUNT_BASE)) > hi - lo:
            found.append(f"mart_joint_outcomes {i}_per_1000 {lad} {fy}: a rate of {implied} events "
                         f"({value} per 1,000 of {pop:,})")
        narrow((i, lad, fy), lo, hi)
    return months, years, found


def outcomes_recovered(months: dict, years: dict) -> list[str]:
    """Withheld months or years worked out from the others: each year is the sum of its months."""
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for key in months:
        groups[key[:3]].append(key)
    found = []
    for year, parts in groups.items():
        bounds = {p: ((Decimal(1), INF) if months[p] is None else count_interval(months[p])) for p in parts}
        total = years.get(year, (Decimal(0), INF))
        for _ in range(10):  # one sum with bounded parts: two passes reach the exact bounds
            total = (max(total[0], sum(b[0] for b in bounds.values())), min(total[1], sum(b[1] for b in bounds.values())))
            for p in parts:
                others_lo = sum(bounds[q][0] for q in parts if q != p)
                others_hi = sum(bounds[q][1] for q in parts if q != p)
                bounds[p] = (max(bounds[p][0], total[0] - others_hi), min(bounds[p][1], total[1] - others_lo))
        withheld = [p for p in parts if months[p] is None]
        if len(withheld) == 1 and year in years:
            found.append(f"fct_outcomes {withheld[0]}: the only withheld month of a published year")
        for p in withheld:
            if pinned(*bounds[p]):
                found.append(f"fct_outcomes {p}: worked out as {bounds[p][0]:.1f} .. {bounds[p][1]:.1f}")
    return found


def ranks_from_published_values(a: Analyst) -> list[str]:
    """A rank among neighbours compares published values only: none for a withheld value."""
    values = {(lad, fy, i): v for lad, fy, i, v in a.conn.execute(
        "select lad_code, financial_year, indicator, value from marts.mart_joint_outcomes")}
    neighbours = defaultdict(list)
    for lad, other in a.conn.execute("select lad_code, neighbour_code from marts.mart_place_neighbours"):
        neighbours[lad].append(other)
    found = []
    for lad, fy, i, value, rank in a.conn.execute(
            "select lad_code, financial_year, indicator, value, rank_among_neighbours from marts.mart_joint_outcomes "
            "where regexp_replace(indicator, '_per_1000$', '') = any(%s)", [a.person_indicators]):
        peers = [values.get((n, fy, i)) for n in neighbours[lad]]
        expected = None if value is None else 1 + sum(p is not None and p > value for p in peers)
        if rank != expected:
            found.append(f"mart_joint_outcomes {i} {lad} {fy}: rank {rank}, from published values {expected}")
    return found


def outcomes_about_few(a: Analyst, admin) -> list[str]:
    """Published counts (month or year) whose exact count is 1-7, against the built events."""
    exact = defaultdict(int)
    months = {}
    for i, lad, month, n in admin.execute(
            "select indicator, lad_code, month_start, sum(numerator) from intermediate.int_outcome_events "
            "where indicator = any(%s) group by 1, 2, 3", [a.person_indicators]):
        months[(i, lad, month)] = n
        exact[(i, lad, financial_year(month))] += n
    found = []
    for i, lad, month, n in a.conn.execute(
            "select indicator, lad_code, month_start, numerator from marts.fct_outcomes "
            "where indicator = any(%s) and numerator is not null", [a.person_indicators]):
        if 1 <= months.get((i, lad, month), 0) <= THRESHOLD:
            found.append(f"fct_outcomes {i} {lad} {month}: {n} published for {months[(i, lad, month)]} events")
    for i, lad, fy, n in a.conn.execute(
            "select distinct indicator, lad_code, financial_year, outcomes from marts.mart_cost_per_outcome "
            "where indicator = any(%s) and outcomes is not null", [a.person_indicators]):
        if 1 <= exact.get((i, lad, fy), 0) <= THRESHOLD:
            found.append(f"mart_cost_per_outcome {i} {lad} {fy}: {n} published for {exact[(i, lad, fy)]} events")
    return found


# --- spend: cells of a file against its exact total, fct_spend against mart_total_place ----------------

def spend_checks(a: Analyst, admin) -> tuple[list[str], dict]:
    """Activity cost of person-level feeds, against the lines it was built from: each published figure
    rests on 8 or more events; the withheld cells of a file add up to none or 8 or more, are never
    one alone, and cannot be pinned from the file's exact total less its published (rounded) cells;
    mart_total_place holds no money that fct_spend withholds, and a group no money its districts do not."""
    found = []
    truth = {}  # (feed, file, year, district or 'unknown', theme) -> (events, cost)
    for feed, file_id, fy, lad, theme, n, cost in admin.execute(
            "select s.feed, s.file_id, s.financial_year, coalesce(g.lad_code, 'unknown'), s.theme_code, count(*), "
            "sum(s.amount) from intermediate.int_spend_lines s left join intermediate.int_lsoa_geographies g "
            "on s.place_level = 'lsoa' and g.lsoa_code = s.place_code "
            "where s.feed = any(%s) group by 1, 2, 3, 4, 5", [PERSON_LEVEL]):
        truth[(feed, file_id, fy, lad, theme)] = (n, cost)
    lad_of = {(code, level): lad for code, level, lad in a.conn.execute(
        "select place_code, place_level, lad_code from marts.dim_place where lad_code is not null")}
    files: dict[tuple, dict] = defaultdict(lambda: {"total": Decimal(0), "published": {}, "events": 0})
    placed = defaultdict(Decimal)  # (district, year, theme) -> published activity cost
    for feed, file_id, row, fy, place, level, theme, amount in a.conn.execute(
            "select feed, file_id, row_number, financial_year, place_code, place_level, theme_code, amount "
            "from marts.fct_spend where feed = any(%s)", [PERSON_LEVEL]):
        f = files[(feed, file_id)]
        f["total"] += amount
        lad = lad_of.get((place, level), "unknown")
        if lad != "unknown":
            placed[(lad, fy, theme)] += amount
        if row is not None:
            f["events"] += 1  # a row of the file: one event (found above as row lineage)
            continue
        if theme is None:
            continue  # the file's withheld cells and the rounding of the others, in one row without place
        leaf = (feed, file_id, fy, lad, theme)
        events = truth.get(leaf, (0, 0))[0]
        if events <= THRESHOLD:
            found.append(f"fct_spend {leaf}: £{amount:,} published for {events} events")
        f["published"][leaf] = amount
    single = sum(1 for f in files.values() if f["events"])
    if single:
        found.append(f"fct_spend: {sum(f['events'] for f in files.values()):,} rows of {single} person-level "
                     "files are one event each")
    for (feed, file_id), f in files.items():
        if not f["events"]:
            found += file_recovered(f"fct_spend file {file_id} ({feed})", f["total"], f["published"],
                                    {leaf: truth[leaf][0] for leaf in truth if leaf[:2] == (feed, file_id)})
    for (lad, fy, theme, amount) in a.conn.execute(
            "select place_code, financial_year, theme_code, amount from marts.mart_total_place "
            "where place_level = 'lad' and agency_type = 'nhs'"):
        if amount != placed.get((lad, fy, theme), Decimal(0)):
            found.append(f"mart_total_place nhs {lad} {fy} {theme}: £{amount:,} where fct_spend publishes "
                         f"£{placed.get((lad, fy, theme), 0):,}")
    with (PROJECT_ROOT / "dbt_project" / "seeds" / "place_groups.csv").open(newline="") as fh:
        members = defaultdict(set)
        for row in csv.DictReader(fh):
            members[row["group_code"]].add(row["lad_code"])
    figures = defaultdict(Decimal)
    rows = a.conn.execute("select place_code, place_level, financial_year, agency_type, theme_code, amount "
                          "from marts.mart_total_place").fetchall()
    for code, level, fy, agency, theme, amount in rows:
        if level == "lad":
            for group, lads in members.items():
                if code in lads:
                    figures[(group, fy, agency, theme)] += amount or 0
    for code, level, fy, agency, theme, amount in rows:
        if level == "group" and abs((amount or 0) - figures[(code, fy, agency, theme)]) > Decimal("0.02"):
            found.append(f"mart_total_place {code} {fy} {agency} {theme}: £{amount:,} is not the sum of its districts")
    stats = {"cells": len(truth), "files": len(files),
             "withheld": sum(1 for leaf in truth if leaf not in files[leaf[:2]]["published"]),
             "files with withheld cells": sum(1 for k, f in files.items()
                                              if any(leaf[:2] == k and leaf not in f["published"] for leaf in truth))}
    return found, stats


def file_recovered(name: str, total: Decimal, published: dict, events: dict) -> list[str]:
    """A file's withheld cells, given its exact `total` and its `published` cells (cell -> rounded money;
    `events`: every cell -> its events): none is alone, they rest on 8 or more events together, and
    the total less every published cell's largest possible value leaves them more than a published
    figure's precision (with two or more withheld, each lies anywhere from 0 to that)."""
    found = []
    withheld = [cell for cell in events if cell not in published]
    n = sum(events[cell] for cell in withheld)
    if 1 <= n <= THRESHOLD:
        found.append(f"{name}: its withheld cells add up to {n} events")
    if len(withheld) == 1:
        found.append(f"{name}: one withheld cell, the file's total less the rest {withheld[0]}")
    most = total - sum(max(Decimal(0), v - MONEY_BASE / 2) for v in published.values())
    if withheld and most <= max(MONEY_BASE, Decimal(1000)):
        found.append(f"{name}: withheld cells pinned to £0 .. £{most:,.0f}")
    return found


def test_the_analyst_is_not_blind():
    """On crafted figures: a month alone withheld under a published year, or pinned by it, is found; a
    file with one withheld cell, or withheld cells of 5 events, is found; two withheld months or
    cells that only a wide range covers are not."""
    year = ("i", "E09000001", "2021-22")
    months = {(*year, m): n for m, n in (("04", None), ("05", 20), ("06", 30))}
    found = outcomes_recovered(months, {year: count_interval(55)})
    assert len(found) == 1 and "only withheld month" in found[0], found
    found = outcomes_recovered({(*year, "04"): None, (*year, "05"): 0}, {year: count_interval(10)})
    assert len(found) == 2 and found[1].endswith("8.0 .. 12.0"), found  # a 0 is published as it is
    months[(*year, "05")] = None
    assert outcomes_recovered(months, {year: count_interval(55)}) == []
    cells = {"a": 40, "b": 3, "c": 30}
    assert len(file_recovered("f", Decimal(9000), {"a": Decimal(5000), "c": Decimal(3000)}, cells)) == 2
    assert file_recovered("f", Decimal(9000), {"a": Decimal(5000)}, cells) == []
    assert file_recovered("f", Decimal(9000), {"a": Decimal(5000)}, {"a": 40, "b": 3, "c": 2})[0].endswith("5 events")


@pytest.mark.parametrize("extracts", EXTRACTS)
def test_person_level_feeds_are_published_only_as_controlled_aggregates(reference_loaded, tmp_path, extracts):
    s = reference_loaded
    build_warehouse(s, tmp_path, EXTRACTS[extracts])
    derived = {t for t, feeds in upstream_feeds(s).items() if feeds & set(PERSON_LEVEL)}
    findings: dict[str, list[str]] = {}
    with connect(s.warehouse_url) as admin, connect(as_role(s.warehouse_url, s, "analyst")) as conn:
        columns = marts_columns(conn)
        assert {"fct_spend", "fct_outcomes", "mart_total_place", "mart_joint_outcomes"} <= derived <= set(columns)
        if "feed" in columns["fct_outcomes"]:
            indicators = dict(conn.execute("select distinct indicator, feed from marts.fct_outcomes"))
        else:
            findings["no lineage"] = ["fct_outcomes does not say which feed each count comes from"]
            indicators = TODAYS_INDICATORS
        a = Analyst(conn, columns, indicators)
        assert {"ae_alcohol_attendances", "ae_drug_attendances", "lettings_to_homeless"} <= set(a.person_indicators)
        assert "crimes" not in a.person_indicators  # open data (data.police.uk): not controlled
        findings["rows about one event"] = rows_about_events(a, derived, describing_values(admin))
        findings["counts of 1-7"] = small_counts(a, derived) + spend_lines_are_rows(a)
        months, years, rates = outcome_figures(a)
        findings["rates of 1-7"] = rates
        findings["withheld counts recovered"] = outcomes_recovered(months, years)
        findings["ranks"] = ranks_from_published_values(a)
        findings["published about 1-7 events"] = outcomes_about_few(a, admin)
        findings["spend"], spend = spend_checks(a, admin)
        # no outcome mart publishes a count for all places (else districts would be parts of it)
        districts = {c for (c,) in conn.execute("select place_code from marts.dim_place where place_level = 'lad'")}
        others = {lad for (_, lad, _, _) in months} - districts
        if others:
            findings["all places"] = [f"fct_outcomes publishes places that are not districts: {sorted(others)}"]
        crimes_exact = dict(admin.execute("select lad_code, sum(numerator) from intermediate.int_outcome_events "
                                          "where indicator = 'drug_crimes' group by 1"))
        crimes = dict(conn.execute("select lad_code, sum(numerator) from marts.fct_outcomes "
                                   "where indicator = 'drug_crimes' group by 1"))
    withheld_months = sum(v is None for v in months.values())
    print(f"{len(months)} months of person-level outcomes in fct_outcomes, {withheld_months} withheld; "
          f"{spend['cells']} cells (file x year x district x theme) of activity cost in {spend['files']} files, "
          f"{spend['withheld']} withheld (in {spend['files with withheld cells']} files)")
    for kind, lines in findings.items():
        print(f"{kind}: {len(lines)}")
        for line in lines[:25]:
            print("  ", line)
    assert len(months) > 20 and withheld_months and spend["withheld"]  # there are small cells to protect
    assert crimes == crimes_exact  # open data is published as it is
    assert not any(findings.values()), "\n".join(f"{k}: {line}" for k, lines in findings.items() for line in lines)
