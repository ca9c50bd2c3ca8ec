"""Checks every morning that partners' extracts arrived when their contracts say they are due.

A feed contract's ``due`` (e.g. ``{every: month, by_day: 10}``) gives the dates; for each partner
sending the feed, an extract with nothing received since the previous due date is **missing**: the
engineers get an alert (log, and the webhook / e-mail when configured) and the partner a reminder
in ``outbox/<feed>/`` naming the due date. ``totalplace submissions`` shows the same table, and
``totalplace ledger --agency A`` the agency's own rows. Re-run: safe, a reminder is rewritten.
Who to call: Total Place data team <data-platform@example.org>.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from totalplace.dag_defaults import Tag, platform_dag
from totalplace.settings import Settings


@dag(**platform_dag("0 7 * * *", Tag.LAYER_OPS, __doc__))
def ops__submission_calendar():
    @task
    def find_missing() -> list[dict]:
        """Every partner feed whose file is missing for the latest due date."""
        from totalplace.submissions import expected_submissions
        from totalplace.warehouse import connect, pipeline_url

        settings = Settings()
        with connect(pipeline_url(settings, "loader")) as conn:
            rows = expected_submissions(settings, conn)
        return [{"agency": e.agency, "feed": e.feed, "sent_by": e.sent_by, "account": e.account,
                 "due": e.due.isoformat(), "rule": e.rule}
                for e in rows if e.status == "missing"]

    @task
    def remind(missing: list[dict]) -> int:
        """Alert the engineers and leave a reminder in each partner's outbox."""
        from totalplace.submissions import remind_missing

        return remind_missing(Settings(), missing)

    remind(find_missing())


ops__submission_calendar()
