"""Writes the bad-input corpus: ``files/<case>.<ext>``, one file per case, and ``expected.yml``.

Run ``python tests/corpus/make_corpus.py`` after changing a case; the files are committed so a
reader can open any of them. Each case names the feed it is sent as (``payments``: the corpus
contract ``contract.yml``, typed columns and an NHS number; ``generic``: every header column
text, for the csv-spectrum cases; ``payments_mac_roman``: the corpus contract declaring Mac Roman;
``payments_open``: the corpus contract without its person identifier - a feed that keeps columns
it does not know, as a person-level feed does not), and what must happen: ``published`` with a row count, or
``quarantined`` with words the reason must contain. The csv-spectrum cases are those of
github.com/maxogden/csv-spectrum, rewritten here.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).parent
FILES = HERE / "files"
HEADER = "Ref,Amount,Paid,Count,Patient\r\n"
GOOD = ["P1,12.50,01/04/2021,3,943 476 5919", "P2,1496.00,2021-04-02,12,", "P3,(20.00),03/04/2021,..,"]


def payments(*rows: str, header: str = HEADER, eol: str = "\r\n") -> bytes:
    return (header + eol.join(rows) + eol).encode()


CASES: dict[str, tuple[str, bytes, dict]] = {}


def case(name: str, feed: str, data: bytes, **expect) -> None:
    CASES[name] = (feed, data, expect)


def published(rows: int) -> dict:
    return {"outcome": "published", "rows": rows}


def quarantined(*reason: str) -> dict:
    return {"outcome": "quarantined", "reason": list(reason)}


# ---- csv-spectrum (maxogden/csv-spectrum), sent as the generic feed: loaded exactly
case("spectrum_comma_in_quotes", "generic", b'first,last,address,city,zip\nJohn,Doe,120 any st.,"Anytown, WW",08123\n',
     **published(1))
case("spectrum_empty", "generic", b'a,b,c\n1,"",""\n2,3,4\n', **published(2))
case("spectrum_empty_crlf", "generic", b'a,b,c\r\n1,"",""\r\n2,3,4\r\n', **published(2))
case("spectrum_escaped_quotes", "generic", b'a,b\n1,"ha ""ha"" ha"\n3,4\n', **published(2))
case("spectrum_json", "generic", b'key,val\n1,"{""type"": ""Point"", ""coordinates"": [102.0, 0.5]}"\n',
     **published(1))
case("spectrum_newlines", "generic", b'a,b,c\n1,2,3\n"Once upon \na time",5,6\n7,8,9\n', **published(3))
case("spectrum_newlines_crlf", "generic", b'a,b,c\r\n1,2,3\r\n"Once upon \r\na time",5,6\r\n7,8,9\r\n',
     **published(3))
case("spectrum_quotes_and_newlines", "generic", b'a,b\n1,"ha \n""ha"" \nha"\n3,4\n', **published(2))
case("spectrum_simple", "generic", b"a,b,c\n1,2,3\n", **published(1))
case("spectrum_simple_crlf", "generic", b"a,b,c\r\n1,2,3\r\n", **published(1))
case("spectrum_utf8", "generic", "a,b,c\n1,2,3\n4,5,ʤ\n".encode(), **published(2))

# ---- structure
case("good", "payments", payments(*GOOD), **published(3))
case("ragged_row_long", "payments", payments(*GOOD, "P4,1.00,01/04/2021,1,,extra"),
     **quarantined("every row must have 5 cells", "\"line\": 5"))
case("ragged_row_short", "payments", payments(*GOOD, "P4,1.00,01/04/2021"), **quarantined("every row must have 5 cells"))
case("blank_rows_inside", "payments", payments(GOOD[0], "", GOOD[1], "", GOOD[2]), **published(3))
case("trailing_empty_rows", "payments", payments(*GOOD, ",,,,", ",,,,", ",,,,"), **published(3))
case("stray_quote_mid_field", "payments", payments('P"1,12.50,01/04/2021,3,', GOOD[1]), **published(2))
case("unclosed_quote", "payments", payments('"P1,12.50,01/04/2021,3,', GOOD[1]), **quarantined("cannot be read as CSV"))
case("embedded_newline_quoted", "payments", payments('"P1\r\nsecond line",12.50,01/04/2021,3,', GOOD[1]),
     **published(2))
case("duplicate_headers", "payments", payments(*GOOD, header="Ref,Amount,Paid,Count,Amount\r\n"),
     **quarantined("appears more than once"))
case("missing_required_header", "payments", payments("P1,01/04/2021", header="Ref,Paid\r\n"),
     **quarantined("required column 'Amount' is missing"))
case("header_only", "payments", HEADER.encode(), **quarantined("at least 1 data row"))
case("empty_file", "payments", b"", **quarantined("empty"))
case("only_newlines", "payments", b"\r\n\r\n\r\n", **quarantined("empty"))
case("title_rows_above_header", "payments", b"Council payments\r\nPeriod: April 2021\r\n\r\n" + payments(*GOOD),
     **published(3))
case("all_cells_quoted", "payments", b'"Ref","Amount","Paid","Count","Patient"\r\n"P1","12.50","01/04/2021","3",""\r\n',
     **published(1))
case("semicolon_delimited", "payments", b"Ref;Amount;Paid;Count\r\nP1;12,50;01/04/2021;3\r\n",
     **quarantined("required column"))
case("tab_delimited", "payments", b"Ref\tAmount\tPaid\tCount\r\nP1\t12.50\t01/04/2021\t3\r\n",
     **quarantined("required column"))
case("ten_thousand_columns", "payments", payments(*GOOD, "P4," + ",".join(["1"] * 10_000)),
     **quarantined("every row must have 5 cells"))
case("one_huge_cell", "payments", payments(GOOD[0], "P9,1.00,01/04/2021,1," + "x" * 300_000), **published(2))
case("nul_byte", "payments", payments(*GOOD).replace(b"P2", b"P\x002"), **quarantined("cannot be read as CSV"))
case("whitespace_around_values", "payments", payments(" P1 , 12.50 , 01/04/2021 , 3 ,"), **published(1))
case("nbsp_in_header", "payments", payments(*GOOD, header="Ref,Amount\u00a0,Paid,Count,Patient\r\n"), **published(3))
case("zero_width_space_in_header", "payments", payments(*GOOD, header="Ref,Am\u200bount,Paid,Count,Patient\r\n"),
     **quarantined("required column 'Amount' is missing"))
case("sql_in_header", "payments_open", payments("P1,12.50,01/04/2021,3,,boom",
                                                header='Ref,Amount,Paid,Count,Patient,x"; drop table y;--\r\n'),
     **published(1))
case("extra_column_in_a_person_level_feed", "payments", payments("P1,12.50,01/04/2021,3,,boom",
                                                                 header="Ref,Amount,Paid,Count,Patient,Notes\r\n"),
     **quarantined("column(s) 6 (counting from 1) are not in the feed contract"))

# ---- encodings and line endings
case("utf8_bom", "payments", b"\xef\xbb\xbf" + payments(*GOOD), **published(3))
case("cp1252_pound", "payments", HEADER.encode() + b"P1,\xa312.50,01/04/2021,3,\r\n", **published(1))
case("utf8_pound", "payments", payments("P1,£12.50,01/04/2021,3,"), **published(1))
case("mac_roman_declared", "payments_mac_roman", HEADER.encode() + "P1,£12.50,01/04/2021,3,\r\n".encode("mac_roman"),
     **published(1), amount="12.50")
case("utf16_le_bom", "payments", b"\xff\xfe" + (HEADER + GOOD[0] + "\r\n").encode("utf-16-le"),
     **quarantined("UTF-16"))
case("utf16_be_bom", "payments", b"\xfe\xff" + (HEADER + GOOD[0] + "\r\n").encode("utf-16-be"),
     **quarantined("UTF-16"))
case("invalid_utf8_byte", "payments", payments(*GOOD).replace(b"P3", b"P\xff3"), **published(3))
case("mixed_line_endings", "payments", (HEADER + GOOD[0] + "\n" + GOOD[1] + "\r" + GOOD[2] + "\r\n").encode(),
     **published(3))
case("cr_only_line_endings", "payments", payments(*GOOD, header=HEADER.replace("\r\n", "\r"), eol="\r"),
     **published(3))
case("lf_only_line_endings", "payments", payments(*GOOD, header=HEADER.replace("\r\n", "\n"), eol="\n"),
     **published(3))

# ---- numbers, money, dates
case("thousands_separators", "payments", payments('P1,"1,496.00",01/04/2021,"1,204",'), **published(1))
case("currency_and_brackets", "payments", payments("P1,£1496.00,01/04/2021,3,", "P2,(1,496.00),01/04/2021,3,"
                                                   .replace("(1,496.00)", '"(1,496.00)"')), **published(2))
case("negative_amount", "payments", payments('P1,"-3,956",01/04/2021,3,'), **published(1))
case("amount_with_letters", "payments", payments("P1,12.50GBP,01/04/2021,3,"), **quarantined("Amount"))
# a program's exponent or float noise is a figure in pence: rounded to it (and counted in the report);
# a genuine third decimal place is not noise: refused
case("amount_scientific", "payments", payments("P1,1.5E+3,01/04/2021,3,"), **published(1))
case("amount_float_noise", "payments", payments("P1,123.45000000000002,01/04/2021,3,"), **published(1))
case("amount_third_decimal", "payments", payments("P1,12.505,01/04/2021,3,"), **quarantined("Amount"))
# credits as finance systems print them, after the figure
case("amount_trailing_minus", "payments", payments('P1,"1,043.00-",01/04/2021,3,'), **published(1))
case("amount_credit_cr", "payments", payments("P1,1043.00 CR,01/04/2021,3,"), **published(1))
case("amount_exponent_overflow", "payments", payments("P1,1E+300,01/04/2021,3,"), **quarantined("Amount"))
# a web page saved with a spreadsheet's name (Excel's "Save as Web Page", a finance system's export)
case("html_saved_as_xls", "payments", b"<html><body><table><tr><td>Ref</td><td>Amount</td></tr></table></body></html>",
     ext="xls", **quarantined("web page"))
# line endings of old Mac Excel (bare CR), and of two programs' output pasted together
case("bare_cr_line_endings", "payments", payments(*GOOD, header=HEADER.replace("\r\n", "\r"), eol="\r"),
     **published(3))
case("mixed_line_endings", "payments", (HEADER + GOOD[0] + "\n" + GOOD[1] + "\r" + GOOD[2] + "\r\n").encode(),
     **published(3))
case("excel_error_values", "payments", payments("P1,#N/A,01/04/2021,3,", "P2,#DIV/0!,01/04/2021,3,"),
     **quarantined("Amount"))
case("integer_overflow", "payments", payments("P1,1.00,01/04/2021,99999999999999999999,"), **quarantined("Count"))
case("suppression_marker", "payments", payments("P1,1.00,01/04/2021,..,", "P2,1.00,01/04/2021,c,"), **published(2))
case("excel_serial_date", "payments", payments("P1,1.00,44287,3,"), **published(1))
case("excel_serial_60", "payments", payments("P1,1.00,60,3,"), **quarantined("Paid"))
case("impossible_date", "payments", payments("P1,1.00,31/02/2021,3,"), **quarantined("Paid"))
case("two_digit_year", "payments", payments("P1,1.00,01-Apr-21,3,"), **published(1))
case("time_only_date", "payments", payments("P1,1.00,00:00:00,3,"), **quarantined("Paid"))

# ---- person identifiers
case("nhs_number_scientific_notation", "payments", payments("P1,1.00,01/04/2021,3,4.01E+09"), **published(1))
case("nhs_number_lost_leading_zero", "payments", payments("P1,1.00,01/04/2021,3,401234567"), **published(1))
case("undeclared_nhs_numbers", "payments_open",
     payments(*[f"P{i},1.00,01/04/2021,3,,{n}" for i, n in enumerate(
         ["9434765919", "943 476 5919", "9434765870", "9434765862", "9434765854", "9434765846"])],
              header="Ref,Amount,Paid,Count,Patient,Notes\r\n"),
     **quarantined("holds valid NHS numbers"))
case("date_of_birth_column", "payments_open", payments("P1,1.00,01/04/2021,3,,1990-05-01",
                                                  header="Ref,Amount,Paid,Count,Patient,DOB\r\n"),
     **quarantined("names a person identifier"))


# ---- workbooks
def xlsx(rows: list[list], *, date1904: bool = False) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    if date1904:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904

        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zipped(parts: dict[str, bytes], level: int = 9) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def _dates() -> list[list]:
    import datetime as dt

    return [["Ref", "Amount", "Paid", "Count", "Patient"], ["P1", 12.5, dt.date(2021, 4, 1), 3, None]]


case("xlsx_good", "payments", xlsx(_dates()), **published(1), ext="xlsx")
case("xlsx_1904_date_system", "payments", xlsx(_dates(), date1904=True), **published(1), ext="xlsx",
     paid="2021-04-01")
# a CSV named .xlsx is read as what it is (the bytes decide, not the name)
case("xlsx_named_csv", "payments", payments(*GOOD), **published(3), ext="xlsx")
case("xlsx_broken_zip", "payments", b"PK\x03\x04" + b"\x00" * 200, **quarantined("not a readable Excel workbook"),
     ext="xlsx")
case("xlsx_zip_bomb", "payments", zipped({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml":
                                          b"<a>" + b"0" * 300_000_000 + b"</a>"}),
     **quarantined("zip bomb"), ext="xlsx")
LAUGHS = b'<!ENTITY lol "lol">' + b"".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10))
case("xlsx_billion_laughs", "payments", zipped({
    "[Content_Types].xml": b"<Types/>",
    "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><!DOCTYPE lolz [' + LAUGHS + b"]><worksheet>&lol9;</worksheet>"}),
     **quarantined("DTD"), ext="xlsx")


def write() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    expected = {}
    for name, (feed, data, expect) in CASES.items():
        ext = expect.pop("ext", "csv")
        path = FILES / f"{name}.{ext}"
        path.write_bytes(data)
        expected[path.name] = {"feed": feed, **expect}
    (HERE / "expected.yml").write_text(
        "# Written by make_corpus.py - edit the cases there. outcome: published (rows) or quarantined (reason\n"
        "# words that must all appear in the report).\n" + yaml.safe_dump(expected, sort_keys=False, width=120))


if __name__ == "__main__":
    write()
    print(f"{len(CASES)} cases in {FILES}")
