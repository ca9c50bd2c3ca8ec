"""Telling people when something needs them: engineers when a task fails or a file is quarantined,
the owning agency when its extract is late.

Every alert is one log line on the ``totalplace.alerts`` logger (what a log-based alerting system
watches), plus - when configured - a JSON POST to ``TOTALPLACE_ALERT_WEBHOOK_URL`` (Slack, Teams,
PagerDuty and most chat tools take one) and an e-mail to ``TOTALPLACE_ALERT_EMAIL_TO`` through
``TOTALPLACE_SMTP_HOST``. Delivery problems are logged, never raised: an alert must not turn a
quarantined file into a failed pipeline.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from totalplace.settings import Settings

log = logging.getLogger("totalplace.alerts")

KINDS = ("task_failed", "file_quarantined", "submission_late")


def alert(settings: Settings, kind: str, message: str, **fields: Any) -> dict[str, Any]:
    """Send one alert everywhere configured; returns the payload sent."""
    payload = {"kind": kind, "message": message, "at": datetime.now(UTC).isoformat(timespec="seconds"), **fields}
    log.warning("TOTALPLACE ALERT %s: %s %s", kind, message, json.dumps(fields, default=str, sort_keys=True))
    if settings.alert_webhook_url:
        try:
            request = urllib.request.Request(settings.alert_webhook_url, method="POST",
                                             data=json.dumps(payload, default=str).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the operator's URL
                response.read()
        except OSError:
            log.exception("could not deliver the %s alert to the webhook", kind)
    if settings.alert_email_to and settings.smtp_host:
        try:
            mail = EmailMessage()
            mail["Subject"] = f"[Total Place] {kind.replace('_', ' ')}: {message[:120]}"
            mail["From"] = settings.alert_email_from
            mail["To"] = settings.alert_email_to
            mail.set_content(message + "\n\n" + json.dumps(fields, default=str, indent=2))
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException):
            log.exception("could not e-mail the %s alert", kind)
    return payload
