"""The remaining real public samples: NHS ODS practices (no header row, every field quoted),
Fingertips practice deprivation (27 columns, mostly empty, England rows among practices) and ONS
lookups (MSOA -> ward, CCG names, LAD names with double-encoded Welsh names) - each published
whole; and a sample sent to the wrong feed comes back with a report a sender can act on."""

from __future__ import annotations

import csv
from datetime import date

import pytest
from conftest import FIXTURES

from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.reference import REFERENCE_DIR
from totalplace.warehouse import connect

NHS = FIXTURES / "nhs"


def ingest_file(settings, agency, feed, path):
    return ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)


def test_ods_practices_without_a_header_row_are_read_by_position(settings):
    path = NHS / "epraccur_first2000.csv"
    outcome = ingest_file(settings, "nhs", "gp_practices", path)
    assert (outcome.status, outcome.rows) == ("published", 2000), outcome.error
    with path.open(newline="") as fh:
        first = next(csv.reader(fh))
    with connect(settings.warehouse_url) as conn:
        row = conn.execute("select practice_code, practice_name, postcode, open_date, status_code, commissioner "
                           "from raw.nhs__gp_practices where _row_number = 1").fetchone()
        closed = conn.execute("select count(*) from raw.nhs__gp_practices where status_code = 'C' "
                              "and close_date is not null").fetchone()[0]
    assert row == (first[0], first[1], first[9], date(1974, 4, 1), first[12], first[14])
    assert closed > 0


def test_a_bad_date_in_a_headerless_file_is_reported_on_its_own_line(settings, tmp_path):
    lines = (NHS / "epraccur_first2000.csv").read_bytes().split(b"\r\n")
    lines[4] = lines[4].replace(b'"19740401"', b'"1974-04-01"', 1)
    bad = tmp_path / "epraccur_bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    report = ingest.check_file(settings, get_contract(settings.feeds_dir, "nhs", "gp_practices"), bad)
    [problem] = report["problems"]
    assert problem["column"] == "Open Date"
    assert problem["examples"] == [{"row": 5, "line": 5, "value": "1974-04-01"}]


def test_fingertips_export_keeps_practices_and_england_with_unused_columns_aside(settings):
    outcome = ingest_file(settings, "nhs", "practice_deprivation", NHS / "fingertips_imd2019_by_gp_practice_indicator-data.csv")
    assert (outcome.status, outcome.rows) == ("published", 6547), outcome.error
    with connect(settings.warehouse_url) as conn:
        types = dict(conn.execute("select area_type, count(*) from raw.nhs__practice_deprivation group by 1").fetchall())
        extra = conn.execute("select _extra->>'Recent Trend' from raw.nhs__practice_deprivation limit 1").fetchone()[0]
        england = conn.execute("select max(value) from raw.nhs__practice_deprivation where area_type = 'England'"
                               ).fetchone()[0]
    assert types == {"GP": 6545, "England": 2}
    assert extra == "Cannot be calculated"
    assert england == pytest.approx(21.7220870988933)


@pytest.mark.parametrize(("feed", "rows"), [("ons_msoa_ward", 7201), ("ons_ccg_names", 191), ("ons_lad_names", 382)])
def test_ons_lookups_publish(settings, feed, rows):
    outcome = ingest_file(settings, "reference", feed, REFERENCE_DIR / f"{feed}.csv")
    assert (outcome.status, outcome.rows) == ("published", rows), outcome.error


def test_a_sample_sent_to_the_wrong_feed_is_answered_with_the_columns_it_lacks(settings):
    contract = get_contract(settings.feeds_dir, "council", "spend_over_500")
    report = ingest.check_file(settings, contract, NHS / "fingertips_imd2019_by_gp_practice_indicator-data.csv")
    assert report["outcome"] == "failed"
    missing = [p["column"] for p in report["problems"] if p["check"] == "required_column"]
    # its "Value" column passes for the amount (an alias), but the rest is missing
    assert "Supplier Name" in missing and "Date" in missing
    assert any(p["check"] == "header" and "Indicator ID" in p["rule"] for p in report["problems"])


def test_ons_population_workbooks_publish_every_area_and_age(settings):
    """ONS mid-year estimates as published: Excel 97 .xls, seven title rows, the year only in the
    title, one column per age (0 ... 90+) - one row per area and age, each year its own file."""
    from python_calamine import CalamineWorkbook

    for path in sorted((REFERENCE_DIR / "ons_lad_population_by_age").iterdir()):
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("MYE2 - Persons").to_python()
        header = next(i for i, r in enumerate(rows) if r[0] == "Code")
        areas = [r for r in rows[header + 1:] if r[0]]
        outcome = ingest_file(settings, "reference", "ons_lad_population_by_age", path)
        assert (outcome.status, outcome.rows) == ("published", len(areas) * 91), outcome.error
    with connect(settings.warehouse_url) as conn:
        years = conn.execute("select population_year, count(distinct area_code), sum(population) filter "
                             "(where area_code = 'E92000001') from raw.reference__ons_lad_population_by_age "
                             "group by 1 order by 1").fetchall()
    assert [(y, n) for y, n, _ in years] == [(2020, len(areas)), (2021, len(areas))]
    assert years[1][2] == round(next(r for r in areas if r[0] == "E92000001")[3])  # England, mid-2021


def test_district_boundaries_publish_from_geojson_and_a_broken_one_is_refused(settings, tmp_path):
    outcome = ingest_file(settings, "reference", "ons_lad_boundaries", REFERENCE_DIR / "ons_lad_boundaries.geojson")
    assert (outcome.status, outcome.rows) == ("published", 374), outcome.error
    with connect(settings.warehouse_url) as conn:
        camden = conn.execute("select lad_name, (geometry::jsonb)->>'type' from raw.reference__ons_lad_boundaries "
                              "where lad_code = 'E09000007'").fetchone()
    assert camden[0] == "Camden" and camden[1] in ("Polygon", "MultiPolygon")

    broken = tmp_path / "boundaries.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}', encoding="utf-8")
    report = ingest.check_file(settings, get_contract(settings.feeds_dir, "reference", "ons_lad_boundaries"), broken)
    assert report["outcome"] == "failed"
    assert "not readable JSON" in report["problems"][0]["rule"]

    shapeless = tmp_path / "shapeless.geojson"
    shapeless.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                         '{"LAD21CD": "E09000007", "LAD21NM": "Camden", "LONG": -0.16, "LAT": 51.5}, "geometry": null}]}',
                         encoding="utf-8")
    report = ingest.check_file(settings, get_contract(settings.feeds_dir, "reference", "ons_lad_boundaries"), shapeless)
    assert report["outcome"] == "failed"
    assert any(p.get("column") == "geometry" for p in report["problems"]), report["problems"]


def test_a_population_file_whose_ages_do_not_add_up_is_refused_at_intake(settings, tmp_path):
    """The ages of each area must add up to the publisher's own "All ages": a file that lost a column
    (here 90+) is refused naming the lines, not published to fail every warehouse build after it."""
    from python_calamine import CalamineWorkbook

    path = REFERENCE_DIR / "ons_lad_population_by_age" / "ons_ukpopestimatesmid2021on2021geographyfinal.xls"
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("MYE2 - Persons").to_python()
    header = next(i for i, r in enumerate(rows) if r[0] == "Code")
    lost = rows[header].index("90+")
    cut = tmp_path / "mid-2021-without-90.csv"
    with cut.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([[int(c) if isinstance(c, float) and c.is_integer() else c
                                   for i, c in enumerate(r) if i != lost] for r in rows])
    outcome = ingest_file(settings, "reference", "ons_lad_population_by_age", cut)
    assert outcome.status == "quarantined"
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    [problem] = report["problems"]
    areas = [r for r in rows[header + 1:] if r[0]]
    assert problem["check"] == "row_total" and problem["rows_failing"] == sum(1 for r in areas if r[lost])
    first = next(r for r in areas if r[lost])
    assert problem["examples"][0]["value"] == (f"All ages {round(first[3])}, the 90 columns add up to "
                                               f"{round(first[3]) - round(first[lost])}")
