"""The file lifecycle: a corrected re-submission supersedes the file it corrects in one
transaction; a quarantined file can be run again after its contract is fixed; every file ends in
exactly one outcome."""

from __future__ import annotations

from datetime import date

from conftest import POLICE_SAMPLE, write_variant

from totalplace import ingest
from totalplace.warehouse import connect


def fix_theft(rows):
    for row in rows[1:]:
        if row[9] == "Other theft":
            row[9] = "Theft from the person"
            break


def test_a_corrected_month_supersedes_the_first_and_keeps_its_history(settings, police_contract, tmp_path):
    first = ingest.ingest_local(settings, police_contract, POLICE_SAMPLE)
    corrected = write_variant(POLICE_SAMPLE, tmp_path / "2020-01-corrected.csv", fix_theft)
    second = ingest.ingest_local(settings, police_contract, corrected)
    assert (first.status, second.status) == ("published", "published")
    with connect(settings.warehouse_url) as conn:
        ledger = conn.execute("select file_id, status, superseded_by, error from ops.file_ledger order by 1").fetchall()
        raw = conn.execute("select _file_id, count(*) from raw.police__street_crime group by 1").fetchall()
        kept = conn.execute(f"select count(*) from history.police__street_crime__f{first.file_id}").fetchone()[0]
        thefts = conn.execute("select count(*) from raw.police__street_crime "
                              "where crime_type = 'Theft from the person'").fetchone()[0]
        warning = conn.execute("select report->'warnings' from ops.file_ledger where file_id = %s",
                               (second.file_id,)).fetchone()[0]
    assert ledger == [(first.file_id, "superseded", second.file_id, f"superseded by file {second.file_id} "
                                                                     "(2020-01-corrected.csv)"),
                      (second.file_id, "published", None, None)]
    assert raw == [(second.file_id, 797)] and kept == 797  # the month once, the old rows kept aside
    assert thefts >= 1
    assert any(f"replaces file {first.file_id}" in w for w in warning)


def test_a_different_month_does_not_supersede(settings, police_contract, tmp_path):
    def february(rows):
        for row in rows[1:]:
            row[1] = "2020-02"

    jan = ingest.ingest_local(settings, police_contract, POLICE_SAMPLE)
    feb = ingest.ingest_local(settings, police_contract, write_variant(POLICE_SAMPLE, tmp_path / "feb.csv", february))
    assert (jan.status, feb.status) == ("published", "published")
    with connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.police__street_crime").fetchone()[0] == 2 * 797


def test_reprocess_and_backfill_run_quarantined_files_again_once_the_contract_allows_them(
        settings, police_contract, tmp_path):
    def invent_type(rows):
        rows[1][9] = "Theft (other)"

    bad = [ingest.ingest_local(settings, police_contract, write_variant(POLICE_SAMPLE, tmp_path / f"{i}.csv",
                                                                         invent_type)) for i in range(1)]
    assert [o.status for o in bad] == ["quarantined"]
    # the same contract: quarantined again, the first outcome kept in the history
    again = ingest.reprocess(settings, police_contract, bad[0].file_id)
    assert again.status == "quarantined"
    # the contract learns the new crime type: the file publishes, from its kept bytes
    allowed = police_contract.model_copy(deep=True)
    allowed.column_by_name["crime_type"].allowed_values.append("Theft (other)")
    [done] = ingest.backfill(settings, allowed, date.today())
    assert done.status == "published" and done.rows == 797
    with connect(settings.warehouse_url) as conn:
        history = conn.execute("select report->'history' from ops.file_ledger where file_id = %s",
                               (done.file_id,)).fetchone()[0]
        left = conn.execute("select count(*) from pg_tables where schemaname = 'quarantine'").fetchone()[0]
    assert [h["status"] for h in history] == ["quarantined", "quarantined"]
    assert left == 0
    # a published file is left alone
    assert ingest.reprocess(settings, allowed, done.file_id).status == "published"
