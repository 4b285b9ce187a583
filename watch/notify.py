"""Tell people when a pass flags a city: a JSON POST to a webhook and an e-mail over SMTP.

Settings (`watch` and `smtp` of the settings tree, from the environment or evidence.toml):
EVIDENCE_WATCH_WEBHOOK_URL, EVIDENCE_SMTP_HOST, EVIDENCE_SMTP_PORT, EVIDENCE_SMTP_FROM, EVIDENCE_SMTP_TO
(comma-separated), EVIDENCE_SMTP_USER/EVIDENCE_SMTP_PASSWORD and EVIDENCE_SMTP_STARTTLS when the server
wants them. A channel that fails is recorded on the pass, not fatal:
the report is in the record either way.
"""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

import httpx

from evidence.database import session_scope
from evidence.output import _plain
from evidence.settings import Settings, Smtp
from watch.report import city_report, pass_row, pass_summary, render


def payload(session, pass_id: int) -> dict:
    cities = city_report(session, pass_id)
    return {"event": "watch.flagged", "summary": pass_summary(session, pass_id),
            "cities": [{k: c[k] for k in ("city", "name", "indicators")} |
                       {"changes": [{k: ch[k] for k in ("url", "title", "old_link", "new_link", "indicators", "added")}
                                    for ch in c["changes"]]} for c in cities]}


def notify_pass(settings: Settings, pass_id: int) -> dict:
    """Send the pass's notifications if it flagged a city; returns (and records) each channel's outcome."""
    smtp, webhook_url = settings.smtp, settings.watch.webhook_url
    with session_scope(settings.database) as s:
        if not pass_row(s, pass_id).flagged:
            return {}
        body = payload(s, pass_id)
        markdown, html = render(s, pass_id, "md"), render(s, pass_id, "html")
    outcome = {}
    if webhook_url:
        outcome["webhook"] = _attempt(lambda: post_webhook(webhook_url, body))
    if smtp.host and smtp.to:
        outcome["email"] = _attempt(lambda: send_mail(smtp, _subject(body), markdown, html))
    with session_scope(settings.database) as s:
        pass_row(s, pass_id).notified = outcome
    return outcome


def _subject(body: dict) -> str:
    names = ", ".join(c["name"] for c in body["cities"])
    return f"evidence watch: policy changes in {names}"


def _attempt(send) -> str:
    try:
        send()
        return "sent"
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as e:
        return f"failed: {e}"


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
