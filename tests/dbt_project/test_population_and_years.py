"""Per head is of the population of the same year, a second real year of spend reaches the
warehouse whole, and budgets stand beside outturn (issue 19).

The expected figures come from readings of the publishers' files that share nothing with the
platform's contracts or models: the ONS workbooks read cell by cell (the "Code" header row, the age
columns 0-17), and the MHCLG 2024-25 OpenDocument return by its hidden column codes
(``RSX-edu-net-cur-exp`` ...), not by the header text the contract matches."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

import pytest
from conftest import FIXTURES
from python_calamine import CalamineWorkbook
from test_spend_reconciliation import RSX, build, service_lines_by_code

from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.reference import REFERENCE_DIR
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow

RSX_2024 = FIXTURES / "finance" / "mhclg_RSX_LA_Data_2024-25_data_by_LA.ods"
RA = FIXTURES / "finance" / "mhclg_RA_2021-22_data_by_LA.csv"


def ra_budget(authority: str, line: str) -> Decimal:
    """The RA budget return's figure of ``line`` (a header, spaces collapsed) for ``authority``, in £."""
    with RA.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = next(r for r in rows if r and r[0] == "E-code")
    column = [" ".join(h.split()) for h in header].index(line)
    row = next(r for r in rows if len(r) > 2 and r[2] == authority)
    return Decimal(row[column].replace(",", "")) * 1000


def ons_population(year: int) -> dict[str, tuple[int, int]]:
    """{area code: (all ages, ages 0-17)} of the ONS mid-year workbook of ``year``, read cell by cell."""
    [path] = [p for p in (REFERENCE_DIR / "ons_lad_population_by_age").iterdir() if f"mid{year}" in p.name]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("MYE2 - Persons").to_python()
    header = next(i for i, r in enumerate(rows) if r[0] == "Code")
    ages = [rows[header].index(str(a)) for a in range(18)]
    return {r[0]: (round(r[3]), round(sum(r[i] for i in ages))) for r in rows[header + 1:] if r[0]}


def service_lines_2024() -> dict[str, Decimal]:
    """{authority: £} of the 2024-25 return's service lines' net current expenditure, by the codes of
    the sheet's hidden last row; the data table only (it ends at ENGLAND; the class totals below it
    repeat the GLA)."""
    rows = CalamineWorkbook.from_path(str(RSX_2024)).get_sheet_by_name("RSX_LA_Data_202425").to_python()
    codes = next(r for r in reversed(rows) if any(str(c).startswith("RSX-") for c in r))
    wanted = [i for i, c in enumerate(codes) if str(c).endswith("-net-cur-exp") and c != "RSX-totsx-net-cur-exp"]
    out = {}
    for r in rows:
        if r[0] == "Eng":
            break
        if re.fullmatch(r"E\d{4}", str(r[0])):
            out[r[2]] = sum((Decimal(repr(r[i])) * 1000 for i in wanted if isinstance(r[i], float)), Decimal(0))
    return out


def test_per_head_is_of_the_same_year_and_a_second_real_year_reaches_the_warehouse(reference_loaded):
    s = reference_loaded
    contract = get_contract(s.feeds_dir, "council", "revenue_outturn")
    files = {}
    for path in (RSX, RSX_2024, RA):
        outcome = ingest.ingest_local(s, contract, path)
        assert outcome.status == "published", outcome.error
        files[path] = outcome.file_id
    assert build(s) == []
    mid_2020, mid_2021 = ons_population(2020), ons_population(2021)

    with connect(s.warehouse_url) as conn:
        population = {(lad, year): (n, children, used) for lad, year, n, children, used in conn.execute(
            "select lad_code, financial_year, population, child_population, population_year "
            "from marts__build.fct_population where lad_code in ('E09000007', 'E07000004', 'E07000005', "
            "'E07000006', 'E07000007') or financial_year = '2021-22'")}
        england = conn.execute("select sum(population) from marts__build.fct_population "
                               "where financial_year = '2021-22' and lad_code like 'E%'").fetchone()[0]
        camden = {year: (n, pop, per_head, before, before_per_head) for year, n, pop, per_head, before, before_per_head
                  in conn.execute(
                      "select financial_year, sum(amount), min(population), sum(amount_per_head), "
                      "min(previous_financial_year), sum(previous_amount_per_head) from marts__build.mart_total_place "
                      "where place_code = 'E09000007' and agency_type = 'council' group by 1")}
        spend_2024 = conn.execute(
            "select sum(amount), sum(amount) filter (where body_name = 'Camden') from marts__build.fct_spend "
            "where file_id = %s", (files[RSX_2024],)).fetchone()
        budget = {service: (b, o) for service, b, o in conn.execute(
            "select service, budget, outturn from marts__build.mart_budget_vs_outturn "
            "where authority_code = 'E09000007' and financial_year = '2021-22'")}
        missing = {a for (a,) in conn.execute(
            "select authority_name from marts__build.dq_missing_returns where financial_year = '2024-25'")}
        birmingham = conn.execute(
            "select bool_and(is_council_return_missing), min(previous_financial_year) from marts__build.mart_total_place "
            "where place_code = 'E08000025' and financial_year = '2024-25' and agency_type = 'council'").fetchone()
        unplaced = conn.execute("select distinct left(place_code, 3) from marts__build.dq_unplaced_spend "
                                "where financial_year = '2024-25'").fetchall()

    # per head of the year's own mid-year estimate, and children of the same estimate
    assert population["E09000007", "2021-22"] == (mid_2021["E09000007"][0], mid_2021["E09000007"][1], 2021)
    assert population["E09000007", "2020-21"] == (mid_2020["E09000007"][0], mid_2020["E09000007"][1], 2020)
    assert population["E09000007", "2024-25"][2] == 2021  # the latest estimate loaded, and it says so
    # every resident of England counted once, Buckinghamshire's in its four 2019 districts
    assert abs(england - mid_2021["E92000001"][0]) <= 4
    bucks = sum(population[lad, "2021-22"][0] for lad in ("E07000004", "E07000005", "E07000006", "E07000007"))
    assert abs(bucks - mid_2021["E06000060"][0]) <= 2

    # Camden's council spend per head in each year, of that year's population, with the trend
    amount, residents, per_head, before, _ = camden["2021-22"]
    assert residents == mid_2021["E09000007"][0] and before is None
    assert abs(per_head - amount / residents) < Decimal("0.01") * 20  # a cent per theme row, rounded
    assert camden["2024-25"][3] == "2021-22" and camden["2024-25"][4] == per_head

    # the 2024-25 return (an OpenDocument spreadsheet, pence of £ thousand) reaches fct_spend whole
    lines = service_lines_2024()
    assert spend_2024 == (sum(lines.values()), lines["Camden"])
    assert round(spend_2024[0]) == 130_984_520_040
    # budget against outturn: the RA return's own service totals beside the RO's lines, for the same year
    lines_2021 = service_lines_by_code()["Camden"]
    assert budget["Education services"] == (ra_budget("Camden", "TOTAL EDUCATION SERVICES"),
                                            lines_2021["RSX-edu-net-cur-exp"])
    assert budget["Children Social Care"][0] == ra_budget("Camden", "TOTAL CHILDREN'S SOCIAL CARE")
    assert budget["Total Service Expenditure"] == (ra_budget("Camden", "TOTAL SERVICE EXPENDITURE"), 515_148_000)

    # a council whose return was not received ("[x]" in every cell) is listed, and its places say so
    rows = CalamineWorkbook.from_path(str(RSX_2024)).get_sheet_by_name("RSX_LA_Data_202425").to_python()
    end = next(i for i, r in enumerate(rows) if r[0] == "Eng")
    assert missing == {r[2] for r in rows[:end] if re.fullmatch(r"E\d{4}", str(r[0])) and all(v == "[x]" for v in r[7:])}
    assert "Birmingham" in missing and birmingham == (True, "2021-22")

    # its bodies are placed - combined authorities made since the 2019 lookups too - but national parks
    assert set(unplaced) <= {("E26",), ("E68",)}, unplaced
