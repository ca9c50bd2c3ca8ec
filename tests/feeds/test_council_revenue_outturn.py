"""MHCLG revenue returns as published (real RSX outturn and RA budget files): title rows above the
header, multi-line header cells, "..." markers, an ENGLAND row and class subtotals below the data,
source notes and trailing comma rows - read as one row per authority and service line."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from conftest import FIXTURES

from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.warehouse import connect

FINANCE = FIXTURES / "finance"
RSX = FINANCE / "mhclg_RSX_2021-22_data_by_LA_Live.csv"
RA = FINANCE / "mhclg_RA_2021-22_data_by_LA.csv"


@pytest.fixture
def contract(settings):
    return get_contract(settings.feeds_dir, "council", "revenue_outturn")


def authorities_and_cells(path, header_line):
    """Independent reading with Python's csv module: authority rows and their filled measure cells."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, data = rows[header_line - 1], rows[header_line:]
    authorities = [r for r in data if len(r) > 1 and r[1].strip() and r[0].startswith("E") and r[0][1:].isdigit()]
    measures = [i for i, h in enumerate(header) if i >= 5 and h.strip() and h.strip() not in ("Class", "Detailed Class")]
    return header, authorities, measures


def test_rsx_outturn_publishes_one_row_per_authority_and_service_line(settings, contract):
    outcome = ingest.ingest_local(settings, contract, RSX)
    assert outcome.status == "published", outcome.error
    header, authorities, measures = authorities_and_cells(RSX, 11)
    assert outcome.rows == len(authorities) * len(measures) == 426 * 98
    with connect(settings.warehouse_url) as conn:
        adur = conn.execute(
            "select financial_year, return_code, amount_thousands from raw.council__revenue_outturn "
            "where local_authority = 'Adur' and line = %s",
            ("Total Service Expenditure - Net Current Expenditure (C7 = C3 - C6)",)).fetchone()
        england = conn.execute("select count(*) from raw.council__revenue_outturn where local_authority = 'ENGLAND'"
                               ).fetchone()[0]
        suppressed = conn.execute(
            "select count(*), count(amount_thousands) from raw.council__revenue_outturn where amount_thousands_suppressed"
        ).fetchone()
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    # Adur's net current expenditure as the file's last column has it: 12,120 (£ thousand)
    assert adur == ("2021-22", "RO", Decimal("12120.00"))
    assert england == 0
    expected_markers = sum(1 for r in authorities for i in measures if r[i].strip() == "...")
    assert suppressed == (expected_markers, 0) and expected_markers > 0
    assert [t["label"] for t in report["file_totals"]] == ["ENGLAND"]
    assert any("the header is on line 11" in w for w in report["warnings"])


def test_ra_budget_keeps_unlabelled_cells_aside_and_drops_the_class_subtotals(settings, contract):
    outcome = ingest.ingest_local(settings, contract, RA)
    assert outcome.status == "published", outcome.error
    header, authorities, measures = authorities_and_cells(RA, 7)
    with connect(settings.warehouse_url) as conn:
        rows, lines, years, codes = conn.execute(
            "select count(*), count(distinct _column_number), min(financial_year), min(return_code) "
            "from raw.council__revenue_outturn").fetchone()
        eden = conn.execute("select distinct _extra from raw.council__revenue_outturn where local_authority = 'Eden'"
                            ).fetchone()[0]
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert (years, codes) == ("2021-22", "RA")
    assert rows == len(authorities) * len(measures) and lines == len(measures)
    # the notes column has no header: its "S" marker is kept aside, not read as money
    assert eden == {"(column 4)": "S"}
    labels = [t["label"] for t in report["file_totals"]]
    assert labels[0] == "ENGLAND" and "LONDON BOROUGHS" in labels and "SHIRE COUNTIES" in labels
    assert any("Source: Ministry of Housing" in w for w in report["warnings"])


def test_a_title_without_the_financial_year_is_a_clear_rejection(settings, contract, tmp_path):
    text = RSX.read_text(encoding="utf-8-sig").replace("2021-22", "this year")
    path = tmp_path / "rsx_no_year.csv"
    path.write_text(text, encoding="utf-8")
    report = ingest.check_file(settings, contract, path)
    assert report["outcome"] == "failed"
    [problem] = report["problems"]
    assert problem["check"] == "per_file_value"
    assert "title rows above the header must give Financial year" in problem["rule"]


def test_the_2024_25_opendocument_return_publishes_to_the_penny(settings, contract):
    """The 2024-25 RSX comes as an OpenDocument spreadsheet: a "Certification" column, figures in £
    thousand to the penny (5 decimal places), "[x]" where a return was not received, and a second
    table of class totals (repeating its header and the GLA) below the ENGLAND row."""
    path = FINANCE / "mhclg_RSX_LA_Data_2024-25_data_by_LA.ods"
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("RSX_LA_Data_202425").to_python()
    header = next(i for i, r in enumerate(rows) if r[0] == "E-code")
    end = next(i for i, r in enumerate(rows) if r[0] == "Eng")
    authorities = [r for r in rows[header + 1:end] if r[0]]
    measures = range(7, len(rows[header]))
    not_received = sum(1 for r in authorities for i in measures if r[i] == "[x]")
    arun = next(r for r in authorities if r[2] == "Arun")

    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "published", outcome.error
    assert outcome.rows == len(authorities) * len(measures) == 410 * 98
    with connect(settings.warehouse_url) as conn:
        year, code, arun_total = conn.execute(
            "select financial_year, return_code, amount_thousands from raw.council__revenue_outturn "
            "where local_authority = 'Arun' and line = %s", (rows[header][104],)).fetchone()
        withheld = conn.execute("select count(*), count(amount_thousands) from raw.council__revenue_outturn "
                                "where amount_thousands_suppressed").fetchone()
        pence = conn.execute("select count(*) from raw.council__revenue_outturn "
                             "where amount_thousands * 100 <> trunc(amount_thousands * 100)").fetchone()[0]
        gla = conn.execute("select count(distinct _row_number) from raw.council__revenue_outturn "
                           "where local_authority = 'Greater London Authority'").fetchone()[0]
    assert (year, code) == ("2024-25", "RO")
    assert arun_total == Decimal(repr(arun[104]))  # every decimal place the publisher wrote
    assert withheld == (not_received, 0) and not_received > 0
    assert pence > 0  # values below a £10 unit of the thousands: kept, not rounded away
    assert gla == 1  # the class-totals table below ENGLAND is not data


def test_an_authority_given_twice_is_refused_naming_both_lines(settings, contract, tmp_path):
    """A row pasted twice would count an authority's spend twice (the GLA's £7.8bn in a test of the
    2024-25 return): one row per authority, the lines named."""
    with RSX.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    camden = next(i for i, r in enumerate(rows) if len(r) > 2 and r[2] == "Camden")
    path = tmp_path / "rsx-camden-twice.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:camden + 1] + [rows[camden]] + rows[camden + 1:])
    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "quarantined"
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    [problem] = report["problems"]
    assert problem["check"] == "unique_rows" and problem["column"] == "'E-code'"
    assert problem["examples"] == [{"row": camden + 2 - 11, "line": camden + 2,
                                    "value": f"{rows[camden][0]} (also line {camden + 1})"}]


def test_a_contract_taking_more_decimal_places_converts_the_published_rows_once(settings, contract):
    """A warehouse that published 2021-22 under a contract of pennies (numeric(18,2)) takes the
    2024-25 return in £ thousand to the penny: preparing the warehouse converts the raw column once
    (dropping the views over it, which the next build makes again), and the new file attaches."""
    from totalplace.services import prepare_warehouse

    pennies = contract.model_copy(update={"columns": [
        c.model_copy(update={"decimals": 2}) if c.name == "amount_thousands" else c for c in contract.columns]})
    first = ingest.ingest_local(settings, pennies, RSX)
    assert first.status == "published", first.error
    with connect(settings.warehouse_url) as conn:
        before = conn.execute("select format_type(atttypid, atttypmod) from pg_attribute where attrelid = "
                              "'raw.council__revenue_outturn'::regclass and attname = 'amount_thousands'").fetchone()[0]
    with connect(settings.warehouse_url) as conn:  # a view over it, as dbt's staging is
        conn.execute("create view public.outturn_lines as select amount_thousands from raw.council__revenue_outturn")
    prepare_warehouse(settings, settings.warehouse_url)  # `totalplace up` / each run, as the owner
    second = ingest.ingest_local(settings, contract, FINANCE / "mhclg_RSX_LA_Data_2024-25_data_by_LA.ods")
    assert second.status == "published", second.error
    with connect(settings.warehouse_url) as conn:
        after = conn.execute("select format_type(atttypid, atttypmod) from pg_attribute where attrelid = "
                             "'raw.council__revenue_outturn'::regclass and attname = 'amount_thousands'").fetchone()[0]
        adur = conn.execute("select amount_thousands from raw.council__revenue_outturn where _file_id = %s "
                            "and local_authority = 'Adur' and line like 'Total Service Expenditure - Net%%'",
                            (first.file_id,)).fetchone()[0]
    assert (before, after) == ("numeric(18,2)", "numeric(21,5)")
    assert adur == Decimal("12120")  # the published rows kept their values
