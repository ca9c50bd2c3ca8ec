"""The typing compiler's builders, on the SQL they generate - no database (these run in well under a second).

What PostgreSQL then does with that SQL (every value, every bad cell) is tested end to end by the
feed and corpus tests; here each builder is held to the rules its docstring gives: which guard
protects which cast, that functions never get more than 100 arguments, that a withheld-value
marker is not an invalid value, that the cheap trim is used on landed columns only.
"""

from __future__ import annotations

import re

import pytest
from psycopg import sql

from connectors.header import match_header
from totalplace.contracts import get_contract
from totalplace.ingest.tables import LandingTable
from totalplace.ingest.typed.cells import filled_cells, text_of, totals_condition
from totalplace.ingest.typed.guards import date_guards, guard
from totalplace.ingest.typed.table import extra_object, typed_column, typed_select
from totalplace.ingest.typed.values import noisy_money, value_expression
from totalplace.settings import PROJECT_ROOT

PG18 = 180000
PG15 = 150000


def render(fragment: sql.Composable) -> str:
    return fragment.as_string(None)


@pytest.fixture(scope="module")
def spend():
    return get_contract(PROJECT_ROOT / "feeds", "council", "spend_over_500")


@pytest.fixture(scope="module")
def outturn():
    return get_contract(PROJECT_ROOT / "feeds", "council", "revenue_outturn")


def column(contract, name):
    return contract.column_by_name[name]


def test_a_landed_column_is_trimmed_only_when_it_has_spaces_at_either_end(spend):
    amount = column(spend, "amount")
    landed = render(text_of(amount))
    assert landed == ('case when "amount" like \' %\' or "amount" like \'% \' then nullif(btrim("amount"), \'\') '
                      'else "amount" end')
    # a constant (a value read from the file name or title rows) is always trimmed
    assert render(text_of(amount, sql.Literal(" 12 "))) == "nullif(btrim(' 12 '), '')"


def test_counting_filled_cells_never_passes_a_function_more_than_100_arguments():
    columns = [sql.Identifier(f"c{i}") for i in range(250)]
    counted = render(filled_cells(columns))
    calls = re.findall(r"num_nonnulls\(([^)]*(?:\)[^)]*)*?)\)(?: \+|\)$)", counted)
    assert counted.count("num_nonnulls(") == 3
    assert [c.count("nullif(") for c in calls] == [100, 100, 50]


def test_an_integer_cast_is_guarded_against_hex_underscores_and_overflow(spend):
    integer = column(spend, "amount").model_copy(update={"type": "integer", "thousands_separator": None})
    text = sql.Identifier("t")
    modern = render(guard(integer, PG18, text))
    assert "pg_input_is_valid(\"t\", 'bigint')" in modern
    assert "!~ '[^0-9+-]'" in modern  # '0x1F' and '1_000' pass pg_input_is_valid but are not figures
    old = render(guard(integer, PG15, text))  # no pg_input_is_valid before PostgreSQL 16: a pattern and a length
    assert "pg_input_is_valid" not in old and "length(\"t\") <= 18" in old


def test_a_number_guard_refuses_nan_and_infinity(spend):
    number = column(spend, "amount").model_copy(update={"type": "number", "thousands_separator": None})
    modern = render(guard(number, PG18, sql.Identifier("t")))
    assert "!~ '[^0-9eE.+-]'" in modern and "'double precision'" in modern


def test_every_date_format_has_its_own_shape_test_before_the_cast(spend):
    date = column(spend, "payment_date")
    guards = [render(g) for g in date_guards(date, sql.Identifier("t"))]
    assert len(guards) == len(date.formats) > 1
    for text in guards:  # CASE orders it: the conversion only ever sees text of the format's shape
        assert re.match(r"\(case when \"t\" ~ +E?'\^", text) and "pg_input_is_valid(" in text
    value = render(value_expression(date, PG18, sql.Identifier("t")))
    assert value.count(")::date") == len(date.formats)


def test_money_takes_brackets_trailing_minus_and_cr_as_negative_and_rounds_float_noise(spend):
    amount = column(spend, "amount")
    value = render(value_expression(amount, PG18, sql.Identifier("t")))
    assert "like '(%'" in value and "like '%-'" in value and "ilike '%cr'" in value and "then -1 else 1" in value
    assert "regexp_replace(\"t\", '[£,()+ ]|-$|[Cc][Rr]$', '', 'g')" in value
    assert f"::{amount.sql_type}" in value
    noisy = render(noisy_money(amount, sql.Identifier("t")))
    # the cast only sees text of a number's shape below 1e15: an exponent cannot overflow it
    assert noisy.startswith("(case when \"t\" ~ ") and "< 1e15" in noisy and f"round(\"t\"::numeric, {amount.decimals})" in noisy
    assert f"round(\"t\"::numeric, {amount.decimals})::{amount.sql_type}" in value


def test_a_thousands_separator_is_removed_before_the_cast():
    stock = get_contract(PROJECT_ROOT / "feeds", "housing", "dwelling_stock")
    col = next(c for c in stock.columns if c.thousands_separator and c.type == "integer")
    value = render(value_expression(col, PG18, sql.Identifier("t")))
    assert "replace(\"t\", ',', '')::bigint" in value
    # the guard tests the text as written (with its separators) against the contract's pattern
    assert "pg_input_is_valid" not in render(guard(col, PG18, sql.Identifier("t")))


def test_a_typed_column_keeps_the_senders_text_of_a_value_that_does_not_parse(spend):
    amount = column(spend, "amount")
    inner, outer = typed_column(amount, sql.Identifier("amount"), PG18, [])
    inner_sql, outer_sql = [render(sql.SQL(", ").join(x)) for x in (inner, outer)]
    assert f'::{amount.sql_type} as "amount"' in inner_sql and 'as "amount__text"' in inner_sql
    empty = "''" if not amount.nullable else "null"
    assert (f'case when "amount__text" is null then {empty} when "amount" is null then "amount__text" end '
            f'as "{amount.invalid_column}"') in outer_sql


def test_a_withheld_value_marker_is_not_invalid_and_is_flagged(outturn):
    col = next(c for c in outturn.columns if c.suppression_markers)
    _, outer = typed_column(col, sql.Identifier(col.name), PG18, [])
    text = render(sql.SQL(", ").join(outer))
    markers = render(sql.Literal(col.suppression_markers))
    assert f'when "{col.name}__text" = any({markers}) then null' in text
    assert f'as "{col.flag_column}"' in text


def test_a_text_column_is_only_trimmed(spend):
    supplier = column(spend, "supplier_name")
    inner, outer = typed_column(supplier, text_of(supplier), PG18, [])
    assert [render(i) for i in inner] == [render(text_of(supplier)) + ' as "supplier_name"']
    assert [render(o) for o in outer] == ['"supplier_name"']


def test_unknown_columns_go_to_one_json_object_built_50_pairs_at_a_time():
    assert render(extra_object({})) == "null::jsonb"
    unknown = {f"_extra_{i}": f"Header {i}" for i in range(120)}
    text = render(extra_object(unknown))
    assert text.count("jsonb_build_object(") == 3 and text.count(" || ") == 2
    assert text.startswith("jsonb_strip_nulls(") and "'Header 119', \"_extra_119\"" in text


def test_totals_rows_are_recognised_by_the_contracts_pattern_only_where_it_has_one(spend):
    cells = {c.name: sql.Identifier(c.name) for c in spend.header_columns}
    if spend.totals_rows is None:
        assert render(totals_condition(spend, cells)) == "false"
    else:
        text = render(totals_condition(spend, cells))
        assert text.count("~*") == len(spend.totals_rows.columns)
        assert render(sql.Literal(spend.totals_rows.pattern)) in text
    no_rule = spend.model_copy(update={"totals_rows": None})
    assert render(totals_condition(no_rule, cells)) == "false"


def test_the_typed_select_of_a_spend_file(spend):
    headers = [c.header for c in spend.header_columns if not c.nullable] + ["Our own column"]
    match = match_header(headers, spend)
    table = LandingTable("landing", "council__spend_over_500__f7")
    text = render(typed_select(table, spend, match, PG18, {}, "Leeds City Council", "dsa-1"))
    assert text.startswith("select _file_id, _row_number, ")
    assert 'from "landing"."council__spend_over_500__f7"' in text and "where _cells > 0 offset 0" in text
    assert "'Leeds City Council'::text as _sent_by" in text and "'dsa-1'::text as _agreement" in text
    assert "'Our own column', \"_extra_" in text  # the unknown column is kept aside in _extra
    for col in spend.stored_columns:
        assert f'as "{col.name}"' in text or f'"{col.name}"' in text
        if col.type != "text":
            assert f'as "{col.invalid_column}"' in text
    # a note row: one cell filled and a required column empty
    assert "(_cells = 1 and num_nulls(" in text


def test_a_wide_file_yields_one_row_per_measure_cell(outturn):
    measure_headers = ["Education services", "Highways and transport services"]
    headers = [c.header for c in outturn.header_columns if not c.nullable and c.name not in (
        outturn.unpivot.key_column, outturn.unpivot.value_column)] + measure_headers
    match = match_header(headers, outturn)
    assert match.measures, "the contract reads columns it does not name as measures"
    text = render(typed_select(LandingTable("landing", "x"), outturn, match, PG18))
    assert "cross join lateral (values (" in text and "as _m(_column_number, _key, _value)" in text
    assert "_m._column_number::integer as _column_number" in text
    for _, header in match.measures.values():
        assert render(sql.Literal(header)) in text
