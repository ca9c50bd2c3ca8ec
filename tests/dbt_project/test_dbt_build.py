"""`dbt build` of the warehouse on published rows: models build, tests pass, and they do fail on bad data."""

from __future__ import annotations

import json

import pytest
from conftest import POLICE_SAMPLE

from totalplace import ingest
from totalplace.dbt import dbt_target_dir, run_dbt
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow


def test_dbt_build_passes_and_its_tests_catch_an_unknown_place(reference_loaded, police_contract):
    s = reference_loaded
    assert ingest.ingest_local(s, police_contract, POLICE_SAMPLE).status == "published"
    result = run_dbt(s, s.warehouse_url, "build", capture=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ERROR=0" in result.stdout
    with connect(s.warehouse_url) as conn:
        places = conn.execute("select place_level, count(*) from marts.dim_place group by 1 order by 1").fetchall()
        mart_rows = conn.execute("select count(*) from marts.mart_crimes_by_lad_month").fetchone()[0]
        # a crime in an LSOA the ONS lookup does not know: the gate's pattern allows it, dbt's test must not
        conn.execute("create table raw.police__street_crime__f999999 partition of raw.police__street_crime "
                     "for values in (999999)")
        conn.execute(
            "insert into raw.police__street_crime (month, reported_by, falls_within, crime_type, lsoa_code, "
            "_file_id, _row_number) values ('2020-01-01', 'x', 'x', 'Drugs', 'E01999999', 999999, 1)")
    places = dict(places)
    assert (places["lad"], places["lsoa"]) == (339, 34753)  # England and Wales, December 2019
    assert places["msoa"] == 7201 and places["ccg"] == 191 and places["group"] == 2
    assert {"ward", "utla", "region"} <= set(places)
    assert mart_rows > 0
    docs = run_dbt(s, s.warehouse_url, "docs", "generate", capture=True)
    assert docs.returncode == 0, docs.stdout[-3000:]
    catalog = json.loads((dbt_target_dir(s) / "catalog.json").read_text())
    documented = {n["metadata"]["name"] for n in catalog["nodes"].values()}
    assert {"mart_total_place", "fct_spend", "dim_place", "mart_joint_outcomes"} <= documented
    broken = run_dbt(s, s.warehouse_url, "build", capture=True)
    assert broken.returncode != 0
    assert "relationships_int_street_crimes_counted_lsoa_code" in broken.stdout
