"""Tell people when a pass flags a city: a JSON POST to a webhook and an e-mail over SMTP.

Settings (environment or evidence.toml): EVIDENCE_WATCH_WEBHOOK_URL, EVIDENCE_SMTP_HOST, EVIDENCE_SMTP_PORT,
EVIDENCE_SMTP_FROM, EVIDENCE_SMTP_TO (comma-separated), EVIDENCE_SMTP_USER/EVIDENCE_SMTP_PASSWORD and
EVIDENCE_SMTP_STARTTLS when the server wants them. A channel that fails is recorded on the pass, not fatal:
the report is in the record either way.
"""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from evidence.database import session_scope
from evidence.output import _plain
from evidence.settings import Settings
from watch.report import city_report, pass_row, pass_summary, render


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")
    watch_webhook_url: str | None = Field(None, description="POST the flagged cities here as JSON")
    smtp_host: str | None = Field(None, description="mail the report through this SMTP server")
    smtp_port: int = 25
    smtp_from: str = "evidence-watch@localhost"
    smtp_to: str = Field("", description="comma-separated recipients")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False


def payload(session, pass_id: int) -> dict:
    cities = city_report(session, pass_id)
    return {"event": "watch.flagged", "summary": pass_summary(session, pass_id),
            "cities": [{k: c[k] for k in ("city", "name", "indicators")} |
                       {"changes": [{k: ch[k] for k in ("url", "title", "old_link", "new_link", "indicators", "added")}
                                    for ch in c["changes"]]} for c in cities]}


def notify_pass(settings: Settings, pass_id: int, config: NotifySettings | None = None) -> dict:
    """Send the pass's notifications if it flagged a city; returns (and records) each channel's outcome."""
    config = config or NotifySettings()
    with session_scope(settings.database) as s:
        if not pass_row(s, pass_id).flagged:
            return {}
        body = payload(s, pass_id)
        markdown, html = render(s, pass_id, "md"), render(s, pass_id, "html")
    outcome = {}
    if config.watch_webhook_url:
        outcome["webhook"] = _attempt(lambda: post_webhook(config.watch_webhook_url, body))
    if config.smtp_host and config.smtp_to:
        outcome["email"] = _attempt(lambda: send_mail(config, _subject(body), markdown, html))
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


def send_mail(config: NotifySettings, subject: str, text: str, html: str) -> None:
    message = EmailMessage()
    message["Subject"], message["From"] = subject, config.smtp_from
    message["To"] = ", ".join(a.strip() for a in config.smtp_to.split(",") if a.strip())
    message.set_content(text)
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    with smtplib.SMTP(config.smtp_host or "localhost", config.smtp_port, timeout=15) as smtp:  # sent only with a host
        if config.smtp_starttls:
            smtp.starttls()
        if config.smtp_user:
            smtp.login(config.smtp_user, config.smtp_password.get_secret_value() if config.smtp_password else "")
        smtp.send_message(message)
