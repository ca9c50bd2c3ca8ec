"""``make demo``: the whole platform end to end, one sample extract or more for every feed.

Starts the services and drops, as each partner would on SFTP: the real data.police.uk sample
(City of London, January 2020) and a damaged copy of it; four real council spend-over-£500 files;
the real MHCLG revenue outturn and budget returns; the real NHS Digital GP registration, ODS
practice register and Fingertips practice deprivation extracts;
and generated extracts (deterministic, with real-world mess) where no public sample exists:
stop and search, outcomes, A&E attendances and hospital admissions (person-level: pseudonymised
on the way in), NHS spend over £25k, homelessness, social lettings (an Excel workbook), dwelling
stock and council land assets; and person-level extracts of four agencies about one synthetic
population (offences, children in care, homelessness cases, A&E, admissions). Then it runs the
pipeline through the Airflow DAGs and prints what was built, with the rows published per feed, the
cohort findings (disclosure controlled) and a privacy scan of the whole warehouse. Run it twice: the second time every file is
recognised as a duplicate and nothing is loaded again.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

from psycopg import sql
from rich.console import Console
from rich.table import Table

from connectors.sftp import open_account
from totalplace import pipeline, services
from totalplace.output import dag_progress, print_files
from totalplace.partners import registry
from totalplace.settings import PROJECT_ROOT, Settings
from totalplace.warehouse import connect

SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "police" / "2020-01-city-of-london-street.csv"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
COUNCIL_SAMPLES = sorted((FIXTURES / "council").glob("*.csv"))
"""Real spend-over-£500 files of Devon (2011 and 2025 layouts) and Oxford (2014, one with its dates lost)."""


def demo_drops(settings: Settings) -> list[tuple[str, str, Path]]:
    """(account, feed, file) for every partner feed, each sent from its body's own account (partners.yml):
    real samples where they exist - each council's file from that council - else generated."""
    from devtools import generate_data as gen
    from devtools import generate_people as gp
    from totalplace.reference import REFERENCE_DIR
    from totalplace.state import private_dir

    out = private_dir(settings.state_dir / "demo", settings)  # generated person-level extracts: private
    lookup = REFERENCE_DIR / "ons_lsoa_lookup.csv"
    lsoas = gen.london_lsoas(lookup, limit=400)
    lads = gen.london_lads(lookup)

    @functools.cache
    def people() -> list:
        return gp.population(gp.read_postcodes(settings.postcode_lookup_file), DEMO_PEOPLE)

    def once(name: str, make) -> Path:
        """Generate a file the first time only: a second demo then drops the very same bytes. Every
        generated file is recorded as such, so the ledger and the marts mark what rests on it."""
        path = out / name
        return gen.mark_generated(settings, path if path.exists() else make(path))

    return [
        ("city_of_london_police", "street_crime", SAMPLE),
        ("city_of_london_police", "street_crime", once("2020-01-city-of-london-street-DAMAGED.csv", lambda p: damaged_copy(SAMPLE, p))),
        ("city_of_london_police", "stop_and_search", once("2020-01-city-of-london-stop-and-search.csv",
                                           lambda p: gen.write_stop_and_search_csv(p, 400))),
        # the Met's crimes in the financial year of the other extracts (2021-22), for cost per outcome
        ("met_police", "street_crime", once("2021-06-metropolitan-street.csv",
                                        lambda p: gen.write_police_csv(p, 6000, lsoas, month="2021-06"))),
        ("city_of_london_police", "outcomes", once("2020-01-city-of-london-outcomes.csv", lambda p: gen.write_outcomes_csv(p, 600, lsoas))),
        *[(p.name.split("_")[0], "spend_over_500", p) for p in COUNCIL_SAMPLES],  # devon_..., leeds_...
        # two years of the real MHCLG returns: 2021-22 (CSV, outturn and budget) and 2024-25 (OpenDocument)
        *[("mhclg", "revenue_outturn", p) for p in sorted((FIXTURES / "finance").glob("*")) if p.suffix in (".csv", ".ods")],
        ("anytown", "land_assets", once("anytown-land-assets-2021.csv", lambda p: gen.write_land_assets_csv(p, 250))),
        ("anytown", "pooled_budgets", once("pooled-budgets-2021-22.csv", lambda p: gen.write_pooled_budgets_csv(p, lads))),
        ("anytown_icb", "gp_registered_patients", FIXTURES / "nhs" / "nhsd_gp-reg-pat-prac-all_2021-01.csv"),
        ("anytown_icb", "gp_practices", FIXTURES / "nhs" / "epraccur_first2000.csv"),
        ("anytown_icb", "practice_deprivation", FIXTURES / "nhs" / "fingertips_imd2019_by_gp_practice_indicator-data.csv"),
        # person-level extracts about one synthetic population (pseudonymised on the way in)
        ("anytown_icb", "ae_attendances", once("ae-attendances-2021-04.csv",
                                       lambda p: gen.write_ae_attendances_csv(p, 4000, lsoas, population=people())[0])),
        ("anytown_icb", "hospital_admissions", once("admissions-2021-04.csv",
                                            lambda p: gen.write_hospital_admissions_csv(p, 1500, lsoas,
                                                                                        population=people()))),
        ("city_of_london_police", "offences", once("offences-2021-22.csv", lambda p: gp.write_offences_csv(p, people()))),
        ("anytown", "children_in_care", once("children-in-care-2021-22.csv",
                                             lambda p: gp.write_children_in_care_csv(p, people()))),
        ("anytown_homes", "homelessness_cases", once("homelessness-cases-2021-22.csv",
                                               lambda p: gp.write_homelessness_cases_csv(
                                                   p, people(), offences_csv=out / "offences-2021-22.csv"))),
        ("anytown_icb", "spend_over_25k", once("icb-spend-over-25k-2021-04.csv",
                                       lambda p: gen.write_nhs_spend_over_25k_csv(p, 120))),
        ("anytown_homes", "homelessness", once("homelessness-2021-q2.csv",
                                                lambda p: gen.write_homelessness_csv(p, lads, quarter="2021-Q2"))),
        ("anytown_homes", "social_lettings", once("lettings-2021-04.xlsx",
                                            lambda p: gen.write_social_lettings_xlsx(p, 500, lsoas, lads))),
        ("anytown_homes", "dwelling_stock", once("dwelling-stock-2021.csv", lambda p: gen.write_dwelling_stock_csv(p, lads))),
    ]


def damaged_copy(source: Path, target: Path) -> Path:
    """The sample with a month that does not exist and a crime type that is not published."""
    lines = source.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b",2020-01,", b",2020-13,", 1)
    theft = next(i for i, line in enumerate(lines) if i > 3 and b",Other theft," in line)
    lines[theft] = lines[theft].replace(b",Other theft,", b",Theft (other),", 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\r\n".join(lines))
    return target


DEMO_YEAR = "2021-22"
DEMO_PEOPLE = 40_000
"""Residents of the synthetic population the person-level extracts are about (generate_people.COHORT_LADS)."""


def _table(console: Console, title: str, cur) -> None:
    table = Table(title=title)
    for d in cur.description:
        table.add_column(d.name, justify="left" if d.type_code == 25 else "right")
    for row in cur.fetchall():
        table.add_row(*["" if v is None else f"{v:,}" if isinstance(v, int | Decimal) else str(v) for v in row])
    console.print(table)


def print_total_place(console: Console, url: str) -> None:
    """Spend per head by agency and theme, and cost per outcome, for sample places (financial year 2021-22)."""
    with connect(url) as conn:
        # City of London, the borough with the most NHS activity in the demo's extracts, and a group of boroughs
        busiest = conn.execute(
            "select lad_code from marts.fct_outcomes where indicator = 'ae_attendances' and financial_year = %s "
            "group by 1 order by sum(numerator) desc, 1 limit 1", (DEMO_YEAR,)).fetchone()
        places = ["E09000001", busiest[0] if busiest else "E09000007", "north_central_london"]
        for code in places:
            agencies = sql.SQL(", ").join(
                sql.SQL("sum(amount_per_head) filter (where agency_type = {}) as {}").format(
                    sql.Literal(a), sql.Identifier(a)) for a in ("council", "nhs", "police", "fire"))
            cur = conn.execute(sql.SQL(
                "select theme_name as theme, {}, sum(amount_per_head) as all_agencies from marts.mart_total_place "
                "where place_code = %s and financial_year = %s group by theme_name order by all_agencies desc"
            ).format(agencies), (code, DEMO_YEAR))
            name = conn.execute("select place_name from marts.dim_place where place_code = %s", (code,)).fetchone()
            _table(console, f"7. Total Place: £ per head by theme and agency, {name[0] if name else code}, {DEMO_YEAR}",
                   cur)
        cur = conn.execute(
            "select lad_name as place, theme_code as theme, indicator, spend, outcomes, months_with_data as months, "
            "cost_per_outcome, cost_per_outcome_annualised as annualised from marts.mart_cost_per_outcome "
            "where financial_year = %s and lad_code = any(%s) "
            "order by lad_name, theme_code, indicator", (DEMO_YEAR, places[:2]))
        _table(console, f"8. Cost per outcome, {DEMO_YEAR} (spend of all agencies on the theme / outcomes)", cur)
        # every pound of fct_spend is in a district of mart_total_place, or listed with why it is not
        fact, counted, unplaced, not_counted = conn.execute(
            "select (select coalesce(sum(amount), 0) from marts.fct_spend), "
            "(select coalesce(sum(amount), 0) from marts.mart_total_place where place_level = 'lad'), "
            "(select coalesce(sum(amount), 0) from marts.dq_unplaced_spend), "
            "(select coalesce(sum(amount), 0) from marts.dq_spend_not_in_total_place)").fetchone()
        console.print(f"[bold]Every pound:[/] fct_spend £{fact:,.0f} = placed in districts £{counted:,.0f} "
                      f"+ unplaced £{unplaced:,.0f} (marts.dq_unplaced_spend, with the reason) "
                      f"+ not counted £{not_counted:,.0f} (marts.dq_spend_not_in_total_place)")
        cur = conn.execute("select reason, count(distinct body_name) as bodies, sum(amount) as amount "
                           "from marts.dq_unplaced_spend group by 1 order by 3 desc")
        _table(console, "   Unplaced spend, by reason", cur)


def print_cohorts(console: Console, url: str) -> None:
    """The person-level findings, as published: disclosure controlled (blank = withheld)."""
    with connect(url) as conn:
        cur = conn.execute(
            "select place_name as place, top_percent as \"most prolific (per cent)\", offenders, "
            "share_of_offences_percent as \"share of offences (per cent)\", offences_per_offender, "
            "cost_of_crime as \"cost of their crime £\", cost_per_offender as \"£ per offender\" "
            "from marts.mart_offending_concentration where financial_year = %s "
            "order by place_code = 'all' desc, place_name, top_percent", (DEMO_YEAR,))
        _table(console, f"9. Concentration of offending, {DEMO_YEAR} (identified offenders; blank = withheld, "
                        "counts 1-7 and cells that would reveal them)", cur)
        cur = conn.execute(
            "select place_name as place, agencies_known_to as \"agencies\", people, total_cost as \"cost £\", "
            "police_cost as \"police £\", council_cost as \"council £\", housing_cost as \"housing £\", "
            "nhs_cost as \"NHS £\", cost_per_person as \"£ per person\" "
            "from marts.mart_multi_agency_cohort where financial_year = %s "
            "and place_code in ('all', 'E09000001', 'E09000003', 'E09000007', 'E09000014') "
            "order by place_code = 'all' desc, place_name, agencies_known_to", (DEMO_YEAR,))
        _table(console, f"10. People known to several agencies, {DEMO_YEAR} (linked by pseudonyms; counts rounded "
                        "to 5, blank = withheld)", cur)
        cur = conn.execute(
            "select place_name as place, children_in_care, child_population as \"children (0-17)\", per_10000_children, "
            "cost_of_care as \"cost of care £\", cost_per_child as \"£ per child\" "
            "from marts.mart_children_in_care where financial_year = %s order by place_code = 'all' desc, place_name",
            (DEMO_YEAR,))
        _table(console, f"11. Children in care, {DEMO_YEAR}", cur)


def run_demo(settings: Settings, console: Console) -> None:
    with console.status("Starting the warehouse and the SFTP server..."):
        url = services.up(settings)
    accounts = registry(settings).accounts
    console.print(f"[bold]1. Services[/]  warehouse {url}\n   sftp accounts, one per partner body (partners.yml): "
                  f"{', '.join(accounts)} (passwords in {settings.credentials_file})")

    drops = demo_drops(settings)
    for sender in sorted({d[0] for d in drops}):
        with open_account(settings, sender) as account:
            for _, feed, path in [d for d in drops if d[0] == sender]:
                remote = account.upload(path, feed)
                console.print(f"[bold]2. Drop[/]  {sender} uploaded {path.name} -> {remote}")

    with dag_progress("Running the ingest, transform and profile DAGs (Airflow dag.test)") as progress:
        summary = pipeline.run_all(settings, progress=progress)
    print_files(summary.files, title="3. What became of each file")
    for r in summary.dag_results:
        console.print(f"   dag {r.dag_id}: {r.state}")
    if not summary.ok:
        raise RuntimeError(f"a DAG run failed; see {summary.log_file}")

    for sender, feed in sorted({(a, f) for a, f, _ in drops}):
        with open_account(settings, sender) as account:
            reports = [n for n in account.listdir(f"outbox/{feed}") if n.endswith(".quarantined.txt")]
            if reports:
                text = account.read_bytes(f"outbox/{feed}/{reports[-1]}").decode()
                console.print(f"[bold]4. Report in the {sender} outbox[/] (outbox/{feed}/{reports[-1]}):")
                console.print(text.rstrip(), markup=False)

    with connect(url) as conn:
        raw_rows = conn.execute("select count(*) from raw.police__street_crime").fetchone()[0]
        files = conn.execute(
            "select count(*) from ops.file_ledger where agency = 'police' and feed = 'street_crime' "
            "and status = 'published'").fetchone()[0]
        cur = conn.execute(
            "select lad_name, month_start, crime_type, crimes, population, crimes_per_1000 "
            "from marts.mart_crimes_by_lad_month order by crimes desc, lad_name, crime_type limit 10"
        )
        names = [d.name for d in cur.description]
        top = cur.fetchall()
        mart_rows = conn.execute("select count(*) from marts.mart_crimes_by_lad_month").fetchone()[0]
        per_feed = conn.execute(
            "select agency || '/' || feed, count(*) filter (where status = 'published'), "
            "count(*) filter (where status = 'quarantined'), count(*) filter (where status = 'duplicate'), "
            "coalesce(sum(rows) filter (where status = 'published'), 0)::bigint, "
            "(select string_agg(distinct sent_by, '; ') from ops.file_ledger l2 "
            " where l2.agency = l.agency and l2.feed = l.feed) "
            "from ops.file_ledger l group by agency, feed order by 1").fetchall()
    feeds = Table(title="5. Published rows per feed")
    for col in ("feed", "published", "quarantined", "duplicate", "rows published", "sent by"):
        feeds.add_column(col, justify="right" if col in ("published", "quarantined", "duplicate", "rows published")
                         else "left")
    for row in per_feed:
        feeds.add_row(*[f"{v:,}" if isinstance(v, int) else str(v or "") for v in row])
    console.print(feeds)
    with connect(url) as conn:  # the ledger's word checked against the tables themselves
        wrong = [f"{key}: ledger {rows:,}, raw {actual:,}" for key, _, _, _, rows, _ in per_feed
                 if rows != (actual := conn.execute(
                     sql.SQL("select count(*) from {}").format(sql.Identifier("raw", key.replace("/", "__")))
                 ).fetchone()[0])]
    console.print("   every raw table holds exactly the rows the ledger says were published" if not wrong
                  else f"[red]   raw tables and ledger disagree: {'; '.join(wrong)}[/]")
    table = Table(title="6. marts.mart_crimes_by_lad_month (top 5 by crimes)")
    for n in names:
        table.add_column(n)
    for row in top[:5]:
        table.add_row(*[str(v) for v in row])
    console.print(table)
    print_total_place(console, url)
    print_cohorts(console, url)
    from totalplace.privacy_scan import scan

    with connect(url) as conn:
        result = scan(conn, settings.feeds_dir)
    console.print(f"[bold]12. Privacy scan[/] of {result.columns:,} text columns in {result.tables} tables: "
                  + ("[green]no NHS number, date of birth or full postcode found[/]" if not result.findings
                     else "[red]" + "; ".join(map(str, result.findings)) + "[/]")
                  + f" (postcodes not looked for in: {'; '.join(result.exempt)})")
    from totalplace.report import build_site, generate_dbt_docs

    with console.status("Generating the data dictionary (dbt docs) for the site ..."):
        # the profiles DAG built the site after the publish; rebuilt here with the dbt docs linked
        generate_dbt_docs(settings)
        index = build_site(settings).index
    pages = len(list((settings.site_dir / "places").glob("*.html")))
    console.print(f"[bold]13. Place profiles[/] ({pages} places, partners' files, validation results, data dictionary): "
                  f"open {index} in a browser, or `python -m http.server -d {settings.site_dir}`")
    console.print(
        f"[green]demo:[/] raw.police__street_crime holds {raw_rows:,} rows from {files} published file(s); "
        f"the mart has {mart_rows} rows; this run: {summary.count('published')} published, "
        f"{summary.count('quarantined')} quarantined, {summary.count('duplicate')} duplicate. "
        "Query it with `totalplace sql`."
    )
