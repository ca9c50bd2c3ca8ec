"""Alerts reach the engineers (log, a real webhook over HTTP) when a file is quarantined or a task
fails, and the submission calendar finds extracts that are late or missing."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import POLICE_SAMPLE, write_variant

from totalplace import ingest
from totalplace.submissions import due_dates, expected_submissions
from totalplace.warehouse import connect


@pytest.fixture
def webhook():
    """A real HTTP endpoint on localhost that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_a_quarantined_file_alerts_the_engineers(settings, police_contract, tmp_path, webhook, caplog):
    url, received = webhook
    alerting = settings.model_copy(update={"alert_webhook_url": url})
    bad = write_variant(POLICE_SAMPLE, tmp_path / "bad.csv", lambda rows: rows[1].__setitem__(1, "2020-13"))
    assert ingest.ingest_local(alerting, police_contract, bad).status == "quarantined"
    [payload] = received
    assert payload["kind"] == "file_quarantined" and payload["feed"] == "police/street_crime"
    assert "bad.csv" in payload["message"] and "Month" in payload["message"]
    assert "TOTALPLACE ALERT file_quarantined" in caplog.text


def test_a_failed_task_alerts_through_the_webhook(settings, webhook, monkeypatch):
    from totalplace.dag_defaults import notify_failure

    url, received = webhook
    monkeypatch.setenv("TOTALPLACE_ALERT_WEBHOOK_URL", url)

    class TaskInstance:
        dag_id, task_id, run_id, try_number = "ingest_police__street_crime", "load", "manual__1", 3

    notify_failure({"task_instance": TaskInstance(), "exception": RuntimeError("disk full")})
    [payload] = received
    assert payload["kind"] == "task_failed" and payload["task"] == "load" and "disk full" in payload["message"]


def test_due_dates_and_late_or_missing_extracts(settings, police_contract):
    assert police_contract.due is not None
    assert due_dates(police_contract, date(2026, 11, 23)) == (date(2026, 11, 10), date(2026, 10, 10))
    assert due_dates(police_contract, date(2026, 11, 9)) == (date(2026, 10, 10), date(2026, 9, 10))
    with connect(settings.warehouse_url) as conn:
        before = {e.key: e.status for e in expected_submissions(settings, conn, date(2026, 11, 23))}
    assert before["police/street_crime"] == "missing"
    ingest.ingest_local(settings, police_contract, POLICE_SAMPLE)  # received today
    today = date.today()
    with connect(settings.warehouse_url) as conn:
        # the file arrived after the latest due date: late; by the next due date it counts as on time
        after = {e.key: e.status for e in expected_submissions(settings, conn, today)}
        first, _ = due_dates(police_contract, today)
        # the next due date after today (this month's when its day is still to come, else next month's)
        later = next(today + timedelta(days=n) for n in range(1, 63)
                     if due_dates(police_contract, today + timedelta(days=n))[0] > first)
        next_cycle = {e.key: e.status for e in expected_submissions(settings, conn, later)}
    assert after["police/street_crime"] == ("on time" if today == first else "late")
    assert next_cycle["police/street_crime"] == "on time"


def test_the_calendar_dag_reminds_partners_of_missing_extracts(sftp, airflow_home, webhook, monkeypatch):
    from connectors.sftp import open_account
    from totalplace import airflow_runner

    url, received = webhook
    monkeypatch.setenv("TOTALPLACE_ALERT_WEBHOOK_URL", url)
    airflow_runner.prepare_process(sftp, sftp.warehouse_url)
    result = airflow_runner.test_dag(airflow_runner.load_dags(sftp)["ops__submission_calendar"])
    assert result.ok, result
    missing = {(p["agency"], p["feed"]) for p in received}
    assert ("police", "street_crime") in missing and all(p["kind"] == "submission_late" for p in received)
    with open_account(sftp, "city_of_london_police") as police:
        reminders = [n for n in police.listdir("outbox/street_crime") if n.startswith("MISSING-due-")]
    assert reminders
