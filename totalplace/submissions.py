"""When each feed's files are due, and which are late.

A feed contract may say ``due: {every: month, by_day: 10}`` - a file each month, by the 10th (or
``quarter`` / ``year``; ``by_month`` for yearly returns). For every partner that sends the feed,
the latest due date that has passed is compared with the files received: nothing received since
the due date before it means the extract is **missing**; a file received after the due date is
**late**. ``totalplace submissions`` lists it, ``totalplace ledger --agency`` shows the agency's own
rows, and the ``ops__submission_calendar`` DAG alerts the engineers and writes a reminder to the
partner's outbox for each missing extract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from totalplace.contracts import Contract, load_contracts
from totalplace.partners import registry
from totalplace.settings import Settings


@dataclass
class Expected:
    agency: str
    feed: str
    sent_by: str
    rule: str
    due: date
    previous_due: date
    last_received: datetime | None
    status: str  # on time | late | missing
    account: str | None = None

    @property
    def key(self) -> str:
        return f"{self.agency}/{self.feed}"


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def due_dates(contract: Contract, today: date) -> tuple[date, date] | None:
    """(latest due date on or before today, the one before it), or None for a feed without ``due``."""
    rule = contract.due
    if rule is None:
        return None
    found: list[date] = []
    for back in range(0, 30):
        month_start = _months_back(today.replace(day=1), back)
        if rule.every == "year" and month_start.month != rule.by_month:
            continue
        if rule.every == "quarter" and (month_start.month - rule.by_month) % 3:
            continue
        due = month_start.replace(day=rule.by_day)
        if due <= today:
            found.append(due)
        if len(found) == 2:
            return found[0], found[1]
    return None


def expected_submissions(settings: Settings, conn, today: date | None = None) -> list[Expected]:
    today = today or date.today()
    partners = registry(settings)
    received: dict[tuple[str, str, str], list[datetime]] = {
        (a, f, s): r for a, f, s, r in conn.execute(
            "select agency, feed, coalesce(sent_by, ''), array_agg(received_at order by received_at) "
            "from ops.file_ledger group by 1, 2, 3")}
    out = []
    for contract in load_contracts(settings.feeds_dir).values():
        dates = due_dates(contract, today)
        if dates is None or contract.due is None:
            continue
        due, previous = dates
        for partner in partners.sending(contract.agency, contract.feed):
            times = received.get((contract.agency, contract.feed, partner.body), [])
            this_cycle = [t for t in times if t.date() > previous]
            if any(t.date() <= due for t in this_cycle):
                status = "on time"
            elif this_cycle:
                status = "late"
            else:
                status = "missing"
            out.append(Expected(contract.agency, contract.feed, partner.body, contract.due.describe(), due, previous,
                                times[-1] if times else None, status, partner.account))
    return sorted(out, key=lambda e: (e.status != "missing", e.key))


def remind_missing(settings: Settings, missing: list[dict]) -> int:
    """An alert per missing extract, and a reminder in the partner's outbox; returns how many."""
    from connectors.sftp import open_service
    from totalplace.alerts import alert

    for m in missing:
        message = (f"{m['sent_by']} has not sent {m['agency']}/{m['feed']}, due by {m['due']} ({m['rule']})")
        alert(settings, "submission_late", message, **m)
        try:
            if not m.get("account"):
                continue
            with open_service(settings, m["account"]) as account:
                account.write_bytes(f"outbox/{m['feed']}/MISSING-due-{m['due']}.txt", (
                    f"REMINDER: no {m['feed']} file has arrived for the extract due by {m['due']} "
                    f"({m['rule']}).\nPlease send it to inbox/{m['feed']}/ - or tell the data team if it will "
                    "be late.\n").encode())
        except Exception:  # noqa: BLE001 - the alert is out; the outbox copy is a courtesy
            import logging

            logging.getLogger(__name__).exception("could not write the reminder for %s/%s", m["agency"], m["feed"])
    return len(missing)
