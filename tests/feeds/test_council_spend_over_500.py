"""Council spend over £500 as councils really publish it: three header layouts from two councils,
quoted thousands, trailing empty rows, Windows-1252, pounds signs and bracketed credits, several
date formats - every payment line published with amounts that add up to the penny."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import FIXTURES

from totalplace import ingest
from totalplace.warehouse import connect

COUNCIL = FIXTURES / "council"


@pytest.fixture
def spend_contract(settings):
    from totalplace.contracts import get_contract

    return get_contract(settings.feeds_dir, "council", "spend_over_500")


def payment_lines(path, encoding="utf-8", amount="amount") -> tuple[int, Decimal]:
    """Independent count and total of a file's payment lines, read with Python's csv module."""
    with path.open(newline="", encoding=encoding) as fh:
        reader = csv.DictReader(fh)
        amount_col = next(h for h in reader.fieldnames if h.strip().lower() == amount)
        rows = [r for r in reader if any((v or "").strip() for v in r.values())]
    total = Decimal(0)
    for r in rows:
        text = r[amount_col].strip().replace(",", "").replace("£", "")
        total += -Decimal(text.strip("()")) if text.startswith("(") else Decimal(text)
    return len(rows), total


def published(settings, file_id):
    with connect(settings.warehouse_url) as conn:
        return conn.execute(
            "select count(*), sum(amount) from raw.council__spend_over_500 where _file_id = %s", (file_id,)
        ).fetchone()


@pytest.mark.parametrize("name", [
    "devon_DCCSpendingOver500_201109.csv",      # 2011 layout, 258 trailing ",,,," rows, integer amounts
    "devon_DCCSpendingOver500_202504.csv",      # 2025 layout: lower-case headers, quoted "1,496.00"
    "oxford_expenditure-over-500-jul-sep-2014.csv",  # another council: "Paid Date", "Trans No", "Supplier Name "
    # Leeds, whose headers no alias lists: 2010 ("Service label", "Net amount" with a trailing space in
    # its values, a last row of fewer empty cells) and 2020 (Windows-1252, "Beneficiary Name", no body name)
    "leeds_spending_2010-12.csv",
    "leeds_spending_2020-06.csv",
])
def test_real_council_files_publish_every_payment_line_to_the_penny(settings, spend_contract, name):
    path = COUNCIL / name
    encoding = "cp1252" if name == "leeds_spending_2020-06.csv" else "utf-8"
    lines, total = payment_lines(path, encoding, "net amount" if name == "leeds_spending_2010-12.csv" else "amount")
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    assert published(settings, outcome.file_id) == (lines, total)
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert report["control_totals"] == {"amount": str(total.quantize(Decimal("0.01")))}


def test_trailing_empty_rows_are_ignored_and_said(settings, spend_contract):
    outcome = ingest.ingest_local(settings, spend_contract, COUNCIL / "devon_DCCSpendingOver500_201109.csv")
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert "258 empty row(s)" in " ".join(report["warnings"])


def test_a_file_whose_dates_were_lost_is_quarantined_with_a_usable_report(settings, spend_contract):
    outcome = ingest.ingest_local(settings, spend_contract, COUNCIL / "oxford_expenditure-over-500-apr-jun-2014.csv")
    assert outcome.status == "quarantined"
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    [problem] = report["problems"]
    assert problem["column"] == "Paid Date"
    assert problem["rows_failing"] == outcome.rows
    assert problem["examples"][0] == {"row": 1, "line": 2, "value": "00:00:00"}
    assert published(settings, outcome.file_id) == (0, None)


def test_windows_1252_pounds_signs_brackets_and_date_formats(settings, spend_contract, tmp_path):
    rows = [
        ["Body Name", "Date", "Transaction Number", "Amount", "Supplier Name", "Expense Area", "Expense Type"],
        ["Anytown Council", "01/04/2014", "T1", "£1,496.00", "Café Ltd", "Adult Care", "Meals"],
        ["Anytown Council", "2014-04-01", "T2", "(1,496.00)", "Café Ltd", "Adult Care", "Meals"],
        ["Anytown Council", "01-Apr-14", "T3", "-3,956", "Smith & Co", "Highways", "Repairs"],
        ["Anytown Council", "41730", "T4", "500", "REDACTED", "Children's Services", "Placements"],
        ["Anytown Council", "1-Apr-2014", "T5", "£12.5", "Jones", "Housing", "Repairs"],
    ]
    path = tmp_path / "anytown.csv"
    with path.open("w", newline="", encoding="cp1252") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        got = conn.execute("select transaction_number, payment_date, amount, supplier_name "
                           "from raw.council__spend_over_500 order by _row_number").fetchall()
        warnings = conn.execute("select report->'warnings' from ops.file_ledger where file_id = %s",
                                (outcome.file_id,)).fetchone()[0]
    assert got == [
        ("T1", date(2014, 4, 1), Decimal("1496.00"), "Café Ltd"),
        ("T2", date(2014, 4, 1), Decimal("-1496.00"), "Café Ltd"),
        ("T3", date(2014, 4, 1), Decimal("-3956.00"), "Smith & Co"),
        ("T4", date(2014, 4, 1), Decimal("500.00"), "REDACTED"),
        ("T5", date(2014, 4, 1), Decimal("12.50"), "Jones"),
    ]
    assert any("cp1252" in w for w in warnings)


def test_impossible_dates_and_malformed_amounts_are_reported_not_guessed(settings, spend_contract, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "Body Name,Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\r\n"
        "Anytown Council,31/02/2014,T1,100,A,B,C\r\n"
        "Anytown Council,01/03/2014,T2,\"1,49,6\",A,B,C\r\n"
        "Anytown Council,01/03/2014,T3,12.345,A,B,C\r\n"
        "Anytown Council,45,T4,100,A,B,C\r\n"
    )
    report = ingest.check_file(settings, spend_contract, path, "anytown")
    assert report["outcome"] == "failed"
    by_column = {p["column"]: p for p in report["problems"]}
    assert [e["value"] for e in by_column["Date"]["examples"]] == ["31/02/2014", "45"]
    assert [e["value"] for e in by_column["Amount"]["examples"]] == ["1,49,6", "12.345"]


def test_suppression_markers_become_null_with_a_flag_never_zero(settings, tmp_path):
    from totalplace.contracts import Contract

    contract = Contract.model_validate({
        "agency": "council", "feed": "suppressed_counts", "title": "Counts with suppressed cells",
        "owner": {"name": "x", "email": "x@example.org"},
        "columns": [
            {"name": "area", "header": "Area", "nullable": False},
            {"name": "households", "header": "Households", "type": "integer", "thousands_separator": ",",
             "suppression_markers": ["..", "c", "*"]},
        ],
    })
    path = tmp_path / "counts.csv"
    path.write_text('Area,Households\r\nA,"1,204"\r\nB,..\r\nC,c\r\nD,7\r\nE,\r\n')
    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        rows = conn.execute("select area, households, households_suppressed from raw.council__suppressed_counts "
                            "order by area").fetchall()
    assert rows == [("A", 1204, False), ("B", None, True), ("C", None, True), ("D", 7, False), ("E", None, False)]

    bad = tmp_path / "bad.csv"
    bad.write_text("Area,Households\r\nA,n/a\r\n")
    report = ingest.check_file(settings, contract, bad)
    assert report["problems"][0]["examples"][0]["value"] == "n/a"


def test_excel_workbook_sheet_found_by_its_header_with_dates_and_formulas(settings, spend_contract, tmp_path):

    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["This workbook lists payments over £500."])
    ws = wb.create_sheet("Payments Q1")
    ws.append(["Anytown Council - spend over £500, April 2014"])
    ws.append(["Body Name", "Payment Date", "Transaction Number", "Net Amount", "Supplier Name", "Service",
               "Expense Type"])
    ws.append(["Anytown Council", datetime(2014, 4, 1), "T1", 1496.0, "Café Ltd", "Adult Care", "Meals"])
    ws.append(["Anytown Council", datetime(2014, 4, 2), "T2", -250.5, "Smith & Co", "Highways", "Repairs"])
    ws.append(["Anytown Council", datetime(2014, 4, 3), "T3", "=B10+1", "Jones", "Housing", "Repairs"])
    path = tmp_path / "anytown-2014-04.xlsx"
    wb.save(path)

    report = ingest.check_file(settings, spend_contract, path, "anytown")
    # the formula has no cached value (never opened in Excel): an empty amount is reported, not guessed
    assert report["outcome"] == "failed"
    assert report["problems"][0]["column"] == "Net Amount"
    # named as the sender finds it in Excel: the sheet and its row
    assert report["problems"][0]["examples"] == [{"row": 3, "line": 5, "value": "", "sheet": "Payments Q1",
                                                  "sheet_row": 5}]
    assert not list(tmp_path.glob("*.sheet.csv"))  # the pre-flight check leaves the sender's folder alone

    ws.delete_rows(5)
    wb.save(path)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        got = conn.execute("select payment_date, amount, supplier_name from raw.council__spend_over_500 "
                           "order by _row_number").fetchall()
    assert got == [(date(2014, 4, 1), Decimal("1496.00"), "Café Ltd"), (date(2014, 4, 2), Decimal("-250.50"), "Smith & Co")]


def _monthly_workbook(path, months, header_of=lambda month, header: header):
    """A workbook with a notes sheet and one sheet per month, as councils publish a year: each month
    a title row, its header (``header_of`` may change a month's) and five payments. Returns the
    payments (month sheet, amount) as written."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Payments over £500, one sheet per month"])
    header = ["Body Name", "Date", "Transaction Number", "Amount", "Supplier Name", "Expense Area", "Expense Type"]
    written = []
    for month in months:
        ws = wb.create_sheet(f"2023-{month:02d}")
        ws.append([f"Spend over £500, 2023-{month:02d}"])
        cols = header_of(month, header)
        ws.append(cols)
        for day in range(1, 6):
            # April's date cells carry 01:00 (British Summer Time, as Excel can store them): the date counts
            when = datetime(2023, month, day, 1 if month == 4 else 0)
            line = dict(zip(header, ["Anytown Council", when, f"T{month}-{day}",
                                     1000 * month + day + 0.25, f"SUPPLIER {day}", "Parks", "Plants"], strict=True))
            line["Paid on"] = line["Date"]
            ws.append([line.get(c) for c in cols])
            written.append((ws.title, Decimal(str(line["Amount"]))))
    wb.save(path)
    return written


def test_every_month_sheet_of_a_workbook_is_published_with_its_sheet_and_row(settings, spend_contract, tmp_path):
    """A year published as one sheet per month: every month is read - not only the sheet whose header
    was found first (11 months once vanished in silence) - each row keeping its sheet and row; a month
    with its columns in another order is read by header; the notes sheet is named as not read."""
    path = tmp_path / "anytown-2023.xlsx"
    reordered = lambda month, header: [*header[3:], *header[:3]] if month == 2 else header  # noqa: E731
    written = _monthly_workbook(path, range(1, 13), reordered)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        rows = conn.execute("select _extra->>'(sheet)', (_extra->>'(sheet row)')::int, amount, payment_date "
                            "from raw.council__spend_over_500 order by _row_number").fetchall()
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert outcome.rows == len(written) == 60
    assert [(sheet, amount) for sheet, _, amount, _ in rows] == written
    assert sum(amount for _, _, amount, _ in rows) == sum(a for _, a in written)
    assert rows[5][:2] == ("2023-02", 3)  # February's first payment: the third row of its sheet
    assert {(d.month, d.day) for *_, d in rows} == {(m, d) for m in range(1, 13) for d in range(1, 6)}
    warnings = " | ".join(report["warnings"])
    assert "'Notes' not read" in warnings and "12 sheets read as one table" in warnings


def test_a_bad_cell_in_a_later_sheet_is_reported_by_its_sheet_and_row(settings, spend_contract, tmp_path):
    """The report of a workbook names the sheet and the row the sender sees in Excel, not the line of
    the table the sheets were read into: in the ledger, the text report and the CSV report alike."""
    from openpyxl import load_workbook

    from totalplace.reports import render_csv, render_text

    path = tmp_path / "anytown-2023.xlsx"
    _monthly_workbook(path, range(1, 5))
    wb = load_workbook(path)
    wb["2023-03"]["D5"] = "twelve pounds"  # March's third payment: row 5 of its sheet (title, header, 2 rows above)
    wb.save(path)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "quarantined"
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    example = report["problems"][0]["examples"][0]
    assert (example["sheet"], example["sheet_row"], example["value"]) == ("2023-03", 5, "twelve pounds")
    # January's 7 lines (title, header, 5 payments) and February's 5 come first in the table read
    assert example["line"] == 7 + 5 + 3
    assert "sheet '2023-03' row 5: 'twelve pounds'" in render_text(report)
    csv_report = render_csv(report).splitlines()
    assert csv_report[0].split(",")[4:7] == ["line", "sheet", "sheet row"]
    assert ",15,2023-03,5,twelve pounds" in csv_report[1]
    # a pre-flight check says the same
    checked = ingest.check_file(settings, spend_contract, path, "anytown")
    assert checked["problems"][0]["examples"][0]["sheet"] == "2023-03"
    assert checked["problems"][0]["examples"][0]["sheet_row"] == 5


def test_a_month_sheet_with_other_headers_stops_the_file(settings, spend_contract, tmp_path):
    """A month typed with a header the feed does not know is not skipped: the file is refused, naming
    the sheet and the column the other months have."""
    path = tmp_path / "anytown-2023.xlsx"
    renamed = lambda month, header: [("Paid on" if c == "Date" else c) for c in header] if month == 3 else header  # noqa: E731
    _monthly_workbook(path, range(1, 5), renamed)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "quarantined"
    assert "sheet '2023-03' looks like data but its header (row 2) lacks 'Date'" in outcome.error


def test_dates_and_amounts_as_finance_systems_write_them(settings, spend_contract, tmp_path):
    """Two-digit years, month names, ISO datetimes, credits written after the figure, a program's float
    noise and exponents - in a file whose lines end in bare carriage returns (old Mac Excel)."""
    path = tmp_path / "formats.csv"
    path.write_bytes(
        b"Body Name,Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\r"
        b"Anytown Council,17/02/21,T1,\"1,043.00-\",A LTD,Parks,Plants\r"
        b"Anytown Council,3 Apr 2023,T2,123.45000000000002,B LTD,Parks,Plants\r"
        b"Anytown Council,2017-04-03T00:00:00,T3,1.2E-13,C LTD,Parks,Plants\r"
        b"Anytown Council,2023-04-01T01:00:00,T4,500.00 CR,D LTD,Parks,Plants\r"
        b"Anytown Council,03 September 1999,T5,\"\xc2\xa31,000.50\",E LTD,Parks,Plants\r"
        b"Anytown Council,01/01/69,T6,2.5e3,F LTD,Parks,Plants\r")
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        got = conn.execute("select transaction_number, payment_date, amount from raw.council__spend_over_500 "
                           "order by _row_number").fetchall()
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert got == [("T1", date(2021, 2, 17), Decimal("-1043.00")), ("T2", date(2023, 4, 3), Decimal("123.45")),
                   ("T3", date(2017, 4, 3), Decimal("0.00")), ("T4", date(2023, 4, 1), Decimal("-500.00")),
                   ("T5", date(1999, 9, 3), Decimal("1000.50")), ("T6", date(1969, 1, 1), Decimal("2500.00"))]
    warnings = " | ".join(report["warnings"])
    assert "bare carriage returns" in warnings
    assert "3 amount(s) in 'Amount' were written as a program's float or exponent" in warnings

    # a figure with a third decimal place that is not float noise is not rounded away: it is reported
    path.write_text("Body Name,Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\n"
                    "Anytown Council,17/02/21,T1,123.456,A LTD,Parks,Plants\n", encoding="utf-8")
    report = ingest.check_file(settings, spend_contract, path, "anytown")
    assert report["outcome"] == "failed"
    assert report["problems"][0]["column"] == "Amount" and report["problems"][0]["examples"][0]["value"] == "123.456"


def test_a_council_that_does_not_repeat_its_name_is_the_sending_body(settings, spend_contract, tmp_path):
    path = tmp_path / "no-body-name.csv"
    path.write_text("Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\n"
                    "17/02/2021,T1,100.00,A LTD,Parks,Plants\n18/02/2021,T2,200.00,B LTD,Parks,Plants\n",
                    encoding="utf-8")
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        bodies = conn.execute("select distinct body_name, _sent_by from raw.council__spend_over_500").fetchall()
        sent_by, publisher, report = conn.execute("select sent_by, publisher, report from ops.file_ledger "
                                                  "where file_id = %s", (outcome.file_id,)).fetchone()
    assert bodies == [(sent_by, sent_by)] and publisher == sent_by and sent_by
    assert any(f"no 'Body Name' column: every line is taken as the sending body's ({sent_by})" in w
               for w in report["warnings"])


def test_headers_no_alias_lists_are_read_by_name_and_content(settings, spend_contract, tmp_path):
    """'Amount Paid', a bare 'Name' for the supplier, a code and its description under one title:
    read (and said so) when one candidate is clearly best; two alike are reported with their scores."""
    path = tmp_path / "own-names.csv"
    path.write_text("Body Name,Date,Transaction Number,Amount Paid,Name,Expense Area,Expense Type,Expense Type\n"
                    "Anytown Council,17/02/2021,T1,100.00,ACME LTD,Parks,4001,Plants\n"
                    "Anytown Council,18/02/2021,T2,\"2,500.10\",SMITH & CO,Roads,4002,Tarmac\n", encoding="utf-8")
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        got = conn.execute("select amount, supplier_name, expense_type, _extra from raw.council__spend_over_500 "
                           "order by _row_number").fetchall()
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert got == [(Decimal("100.00"), "ACME LTD", "4001", {"Expense Type": "Plants"}),
                   (Decimal("2500.10"), "SMITH & CO", "4002", {"Expense Type": "Tarmac"})]
    warnings = " | ".join(report["warnings"])
    assert "read 'Amount Paid' (column 4) as 'Amount'" in warnings and "read 'Name' (column 5) as 'Supplier Name'" in warnings

    path.write_text("Body Name,Date,Transaction Number,Amount Paid,Amount Due,Supplier Name,Expense Area,Expense Type\n"
                    "Anytown Council,17/02/2021,T1,100.00,90.00,ACME LTD,Parks,Plants\n", encoding="utf-8")
    report = ingest.check_file(settings, spend_contract, path, "anytown")
    assert report["outcome"] == "failed"
    rule = report["problems"][0]["rule"]
    assert "required column 'Amount' is missing" in rule and "'Amount Paid' (column 4: name 0.75" in rule
    assert "'Amount Due' (column 5: name 0.75" in rule


def test_a_total_without_a_label_is_reconciled_and_a_wrong_one_stops_the_file(settings, spend_contract, tmp_path):
    """A last row holding only an amount is a total with no label: reconciled with the lines above it;
    when it does not match (a payment whose other cells were lost, or a wrong total) the file is
    refused naming both figures - it is never set aside as a note in silence."""
    lines = ("Body Name,Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\n"
             "Anytown Council,17/02/2021,T1,100.00,A LTD,Parks,Plants\n"
             "Anytown Council,18/02/2021,T2,\"1,200.50\",B LTD,Parks,Plants\n")
    path = tmp_path / "unlabelled-total.csv"
    path.write_text(lines + ',,,"1,300.50",,,\n', encoding="utf-8")
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    assert published(settings, outcome.file_id) == (2, Decimal("1300.50"))
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    assert report["file_totals"] == [{"row": 3, "line": 4, "label": "(no label)", "amount": "1300.50"}]

    path.write_text(lines + ",,,900.00,,,\n", encoding="utf-8")
    report = ingest.check_file(settings, spend_contract, path, "anytown")
    assert report["outcome"] == "failed"
    assert ("line 4 holds only an amount (Amount 900.00) - a total with no label? - but the lines above it add up "
            "to 1300.50 (difference 400.50)") in report["problems"][0]["rule"]


def test_a_broken_workbook_is_rejected_with_a_reason(settings, spend_contract, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"not really a zip" * 10)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "quarantined"
    assert "not a readable Excel workbook" in outcome.error


def test_a_feed_declared_mac_roman_is_read_as_such(settings, spend_contract, tmp_path):
    contract = spend_contract.model_copy(
        update={"format": spend_contract.format.model_copy(update={"encoding": "mac_roman"})})
    path = tmp_path / "mac.csv"
    path.write_bytes(
        "Body Name,Date,Transaction Number,Amount,Supplier Name,Expense Area,Expense Type\r\n"
        "Anytown Council,01/04/2014,T1,£10.00,Café Ñandú,Adult Care,Meals\r\n".encode("mac_roman"))
    outcome = ingest.ingest_local(settings, contract, path)
    assert outcome.status == "published", outcome.error
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select supplier_name, amount from raw.council__spend_over_500").fetchone() == (
            "Café Ñandú", Decimal("10.00"))


def _spend_file(path, rows, total_row, footer=()):
    header = ["Body Name", "Date", "Transaction Number", "Amount", "Supplier Name", "Expense Area", "Expense Type"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerows([["Anytown Council payments over £500, April 2014"], [], header, *rows, total_row, *footer])
    return path


PAYMENTS = [
    ["Anytown Council", "01/04/2014", f"T{i}", f"{amount:,.2f}", f"Supplier {i}", "Highways", "Repairs"]
    for i, amount in enumerate([1496.00, 2500.50, -600.25, 12000.00], start=1)
]


def test_a_totals_row_is_reconciled_and_never_loaded_as_a_payment(settings, spend_contract, tmp_path):
    path = _spend_file(tmp_path / "anytown-2014-04.csv", PAYMENTS, ["", "", "", "15,396.25", "", "Total", ""],
                       footer=[["Source: Anytown Council finance system"]])
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "published", outcome.error
    assert published(settings, outcome.file_id) == (4, Decimal("15396.25"))
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    # header on line 3: data rows are lines 4-7, the totals row line 8, the note line 9
    assert report["file_totals"] == [{"row": 5, "line": 8, "label": "Total", "amount": "15396.25"}]
    assert any("line 9 is a note below the data" in w for w in report["warnings"])
    assert report["control_totals"] == {"amount": "15396.25"}


def test_a_file_that_does_not_add_up_to_its_own_total_is_rejected(settings, spend_contract, tmp_path):
    path = _spend_file(tmp_path / "anytown-2014-05.csv", PAYMENTS, ["", "", "", "15,400.00", "Grand Total", "", ""])
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert outcome.status == "quarantined"
    with connect(settings.warehouse_url) as conn:
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    [problem] = report["problems"]
    assert problem["check"] == "totals_reconcile"
    assert problem["rule"] == ("the totals row on line 8 says amount = 15400.00, but the data rows add up to "
                               "15396.25 (difference -3.75)")
    assert published(settings, outcome.file_id) == (0, None)


def test_an_excel_header_over_two_rows_with_merged_cells_is_joined(settings, spend_contract, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Spend"
    ws.append(["Anytown Council - spend over £500, May 2014"])
    # "Payment" is merged over its two sub-headings; the other headings are merged down over both rows
    ws.append(["Body Name", "Payment", None, "Transaction Number", "Supplier Name", "Expense Area", "Expense Type"])
    ws.append([None, "Date", "Amount", None, None, None, None])
    ws.merge_cells("B2:C2")
    for col in "ADEFG":
        ws.merge_cells(f"{col}2:{col}3")
    ws.append(["Anytown Council", datetime(2014, 5, 1), 1496.0, "T1", "Café Ltd", "Adult Care", "Meals"])
    ws.append(["Anytown Council", datetime(2014, 5, 2), "x", "T2", "Smith & Co", "Highways", "Repairs"])
    path = tmp_path / "anytown-2014-05.xlsx"
    wb.save(path)

    report = ingest.check_file(settings, spend_contract, path, "anytown")
    [problem] = report["problems"]
    # the sender's own words for the column, and the spreadsheet's line: header on lines 2-3, row 2 on line 5
    assert problem["column"] == "Payment Amount"
    assert problem["examples"] == [{"row": 2, "line": 5, "value": "x", "sheet": "Spend", "sheet_row": 5}]
    assert any("header spans lines 2-3" in w for w in report["warnings"])

    ws["C5"] = 250.5
    wb.save(path)
    outcome = ingest.ingest_local(settings, spend_contract, path)
    assert (outcome.status, outcome.rows) == ("published", 2), outcome.error
    assert published(settings, outcome.file_id) == (2, Decimal("1746.50"))
