"""Tell people when a pass flags a city: a JSON POST to a webhook and an e-mail over SMTP.

Settings (`watch` and `smtp` of the settings tree, from the environment or evidence.toml):
EVIDENCE_WATCH_WEBHOOK_URL, EVIDENCE_SMTP_HOST, EVIDENCE_SMTP_PORT, EVIDENCE_SMTP_FROM, EVIDENCE_SMTP_TO
(comma-separated), EVIDENCE_SMTP_USER/EVIDENCE_SMTP_PASSWORD and EVIDENCE_SMTP_STARTTLS when the server
wants them. A channel that fails is recorded on the pass, not fatal (the report is in the record either
way), and tried again at the start of each next pass, up to MAX_ATTEMPTS times in all.
"""

from __future__ import annotations

import json
import re
import smtplib
from email.message import EmailMessage

import httpx
from sqlalchemy import select

from evidence.database import session_scope
from evidence.output import _plain
from evidence.record import WatchPass
from evidence.settings import Settings, Smtp
from watch.report import city_report, pass_row, pass_summary, render

MAX_ATTEMPTS = 5
_ATTEMPT = re.compile(r"^failed \(attempt (\d+)\)")


def payload(session, pass_id: int) -> dict:
    cities = city_report(session, pass_id)
    return {"event": "watch.flagged", "summary": pass_summary(session, pass_id),
            "cities": [{k: c[k] for k in ("city", "name", "indicators")} |
                       {"changes": [{k: ch[k] for k in ("url", "title", "old_link", "new_link", "indicators", "added")}
                                    for ch in c["changes"]]} for c in cities]}


def notify_pass(settings: Settings, pass_id: int, channels: dict[str, int] | None = None) -> dict:
    """Send the pass's notifications if it flagged a city; returns (and records) each channel's outcome.
    `channels`: only these (channel -> the attempt this is), as when retrying; default every configured one."""
    smtp, webhook_url = settings.smtp, settings.watch.webhook_url
    with session_scope(settings.database) as s:
        row = pass_row(s, pass_id)
        if not row.flagged:
            return {}
        body = payload(s, pass_id)
        markdown, html = render(s, pass_id, "md"), render(s, pass_id, "html")
        outcome = dict(row.notified or {}) if channels else {}
    wanted = channels or {"webhook": 1, "email": 1}
    if webhook_url and "webhook" in wanted:
        outcome["webhook"] = _attempt(lambda: post_webhook(webhook_url, body), wanted["webhook"])
    if smtp.host and smtp.to and "email" in wanted:
        outcome["email"] = _attempt(lambda: send_mail(smtp, _subject(body), markdown, html), wanted["email"])
    with session_scope(settings.database) as s:
        pass_row(s, pass_id).notified = outcome
    return outcome


def skip_notification(settings: Settings, pass_id: int) -> None:
    """A pass run with --no-notify: say so on the pass (and never send it later)."""
    with session_scope(settings.database) as s:
        row = pass_row(s, pass_id)
        if row.flagged:
            row.notified = {"all": "not sent (--no-notify)"}


def retry_notifications(settings: Settings) -> dict[int, dict]:
    """Send again what failed to go out for earlier passes (each channel at most MAX_ATTEMPTS times in all)."""
    with session_scope(settings.database) as s:
        rows = s.scalars(select(WatchPass).where(WatchPass.state == "finished")).all()
        pending = {row.id: due for row in rows if (due := _due_again(row.notified or {}))}
    return {pass_id: notify_pass(settings, pass_id, channels) for pass_id, channels in sorted(pending.items())}


def _due_again(notified: dict) -> dict[str, int]:
    """Channel -> the next attempt's number, for the channels that failed and may be tried again."""
    due = {}
    for channel, outcome in notified.items():
        if isinstance(outcome, str) and outcome.startswith("failed"):
            match = _ATTEMPT.match(outcome)
            attempt = int(match[1]) if match else 1
            if attempt < MAX_ATTEMPTS:
                due[channel] = attempt + 1
    return due


def _subject(body: dict) -> str:
    names = ", ".join(c["name"] for c in body["cities"])
    return f"evidence watch: policy changes in {names}"


def _attempt(send, attempt: int = 1) -> str:
    try:
        send()
        return "sent"
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as e:
        return f"failed (attempt {attempt}): {e}" if attempt > 1 else f"failed: {e}"


def post_webhook(url: str, body: dict) -> None:
    data = json.dumps(body, default=_plain, ensure_ascii=False).encode()
    response = httpx.post(url, content=data, headers={"Content-Type": "application/json"}, timeout=15)
    response.raise_for_status()


def send_mail(smtp_settings: Smtp, subject: str, text: str, html: str) -> None:
    config = smtp_settings
    message = EmailMessage()
    message["Subject"], message["From"] = subject, config.sender
    message["To"] = ", ".join(a.strip() for a in config.to.split(",") if a.strip())
    message.set_content(text)
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    with smtplib.SMTP(config.host or "localhost", config.port, timeout=15) as smtp:  # sent only with a host
        if config.starttls:
            smtp.starttls()
        if config.user:
            smtp.login(config.user, config.password.get_secret_value() if config.password else "")
        smtp.send_message(message)
