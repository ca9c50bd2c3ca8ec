"""The analyst questions the warehouse exists for, each answered by one query (docs/queries/*.sql),
on a warehouse built with write-audit-publish from real MHCLG returns and generated extracts."""

from __future__ import annotations

import csv

import pytest
from conftest import FIXTURES

from devtools import generate_data as gen
from totalplace import ingest, transform
from totalplace.contracts import get_contract
from totalplace.reference import REFERENCE_DIR
from totalplace.settings import PROJECT_ROOT
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow

QUERIES = PROJECT_ROOT / "docs" / "queries"


def answer(url, name):
    with connect(url) as conn:
        cur = conn.execute((QUERIES / f"{name}.sql").read_text())
        return [dict(zip([d.name for d in cur.description], row, strict=True)) for row in cur.fetchall()]


def test_one_query_each(reference_loaded, tmp_path):
    s = reference_loaded
    barnet = [(c, n) for c, n in gen.london_lsoas(REFERENCE_DIR / "ons_lsoa_lookup.csv", limit=5000)
              if n.startswith("Barnet ")]
    drops = [
        ("council", "revenue_outturn", FIXTURES / "finance" / "mhclg_RSX_2021-22_data_by_LA_Live.csv"),
        ("council", "revenue_outturn", FIXTURES / "finance" / "mhclg_RA_2021-22_data_by_LA.csv"),
        ("police", "street_crime", gen.write_police_csv(tmp_path / "2021-06-street.csv", 2000, barnet, month="2021-06")),
        ("nhs", "ae_attendances", gen.write_ae_attendances_csv(tmp_path / "ae.csv", 600, barnet)[0]),
        ("council", "pooled_budgets", gen.write_pooled_budgets_csv(tmp_path / "pools.csv", [("E09000003", "Barnet")])),
        ("council", "land_assets", gen.write_land_assets_csv(tmp_path / "estate.csv", 300)),
    ]
    for agency, feed, path in drops:
        assert ingest.ingest_local(s, get_contract(s.feeds_dir, agency, feed), path).status == "published"
    transform.build_and_publish(s)  # the transform DAG's steps: build, audit, publish

    # 1. spend per head on drugs and on alcohol, each against its own outcomes, for Barnet
    drugs = answer(s.warehouse_url, "drugs_alcohol_spend_vs_outcomes")
    assert {(r["theme_code"], r["indicator"]) for r in drugs} == {
        ("drugs", "drug_crimes"), ("drugs", "ae_drug_attendances"), ("alcohol", "ae_alcohol_attendances")}
    assert all(r["spend_per_head"] > 0 and r["outcomes"] > 0 and r["cost_per_outcome"] > 0 for r in drugs)

    # 2. the ten places most like Barnet, and where its crime rate ranks among them
    alike = answer(s.warehouse_url, "places_most_like")
    assert [r["neighbour_rank"] for r in alike] == list(range(1, 11))
    assert "Barnet" not in {r["neighbour_name"] for r in alike}
    with (tmp_path / "2021-06-street.csv").open(newline="") as fh:
        crimes = sum(1 for r in csv.DictReader(fh) if r["LSOA code"] and r["Crime type"] != "Anti-social behaviour")
    with connect(s.warehouse_url) as conn:
        residents = conn.execute("select population from marts.fct_population where lad_code = 'E09000003' and financial_year = '2021-22'").fetchone()[0]
    assert float(alike[0]["place_crimes_per_1000"]) == pytest.approx(1000 * crimes / residents, abs=0.001)
    assert alike[0]["place_crime_rank_among_neighbours"] == 1  # the only one of them with crime data here

    # 4. all public spending in Camden per head, by agency and theme, against its neighbours
    camden = answer(s.warehouse_url, "place_spend_against_neighbours")
    assert {r["financial_year"] for r in camden} == {"2021-22"}
    assert {"council", "police", "fire"} <= {r["agency_type"] for r in camden}  # the GLA's police and fire shared
    with connect(s.warehouse_url) as conn:
        people = conn.execute("select population from marts.fct_population where lad_code = 'E09000007' and financial_year = '2021-22'").fetchone()[0]
    council = sum(r["camden_per_head"] for r in camden if r["agency_type"] == "council") * people
    assert council >= 515_148_000 - 1_000  # Camden's own 13 service lines, and its share of the GLA's
    assert all(r["neighbours_with_this_spend"] <= 10 for r in camden)
    assert all(r["neighbours_median_per_head"] is not None for r in camden if r["agency_type"] == "council")

    # 3. how many funding streams each council received per year (RA 2021-22 budget)
    streams = {r["authority_name"]: r for r in answer(s.warehouse_url, "funding_streams_per_year")}
    # revenue support grant, retained business rates, specific grants inside and outside AEF
    assert streams["Barnet"]["funding_streams"] == 4
    assert 0 < streams["Barnet"]["ring_fenced_share"] <= 1


    with connect(s.warehouse_url) as conn:
        # pooled budgets: every pool's agency shares add up to 1, and the NHS pays into the Better Care Fund
        pools = conn.execute("select pool_type, sum(agency_share), bool_or(agency_type = 'nhs') "
                             "from marts.mart_pooled_budgets group by pool_name, pool_type").fetchall()
        # co-location: a candidate's nearest other-agency asset really is another agency's, within 250 m
        near = conn.execute(
            "select a.agency_type, b.agency_type, a.nearest_other_agency_metres, "
            "sqrt(power(a.easting - b.easting, 2) + power(a.northing - b.northing, 2)) "
            "from marts.mart_assets a join marts.mart_assets b on b.uprn = a.nearest_other_agency_uprn "
            "where a.is_co_location_candidate").fetchall()
        joint = {r[0] for r in conn.execute(
            "select agency_type from marts.mart_joint_outcomes where lad_code = 'E09000003'")}
    assert len(pools) == 2 and all(abs(float(share) - 1) < 0.001 and nhs for _, share, nhs in pools)
    assert near and all(a != b and float(m) <= 250 and abs(float(m) - d) < 0.1 for a, b, m, d in near)
    assert {"police", "nhs", "council"} <= joint
