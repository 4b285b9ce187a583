"""The settings tree: environment and evidence.toml alike, unknown keys refused, secrets masked, the README current."""

from __future__ import annotations

import pytest

from app.settings_table import README, with_table
from evidence.errors import DataErrors
from evidence.settings import Section, Settings, load_settings, settings_rows


def test_the_readme_table_is_current():
    readme = README.read_text(encoding="utf-8")
    assert with_table(readme) == readme, "run `python -m app.settings_table` and commit the README"
    assert "| `EVIDENCE_SMTP_FROM` | `smtp.from` |" in readme


def test_every_setting_has_a_description():
    fields = list(Settings.model_fields.items())
    sections = 0
    for _, field in list(fields):
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section):
            fields += list(field.annotation.model_fields.items())
            sections += 1
    missing = [name for name, field in fields if not field.description]
    assert not missing
    assert sections >= 4 and len(settings_rows()) == len(fields) - sections  # a section is a heading, not a row


def test_a_section_reads_the_file_and_the_environment_wins(data_dir, monkeypatch):
    (data_dir.parent / "evidence.toml").write_text(
        'llm_model = "qwen"\n[crawl]\ntimeout = 7\ndelay = 5\n[smtp]\nfrom = "desk@example.org"\n', encoding="utf-8")
    monkeypatch.setenv("EVIDENCE_CRAWL_DELAY", "0.5")
    monkeypatch.setenv("EVIDENCE_WATCH_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    settings = load_settings()
    assert settings.llm_model == "qwen" and settings.smtp.sender == "desk@example.org"
    assert (settings.crawl.timeout, settings.crawl.delay) == (7.0, 0.5)
    assert settings.watch.webhook_url == "http://127.0.0.1:9/hook"


def test_an_unknown_setting_is_an_error_that_names_it(data_dir, monkeypatch):
    monkeypatch.setenv("EVIDENCE_CRAWL_TIMEOTU", "5")
    with pytest.raises(DataErrors, match=r"crawl\.timeotu: Extra inputs are not permitted"):
        load_settings()
    monkeypatch.delenv("EVIDENCE_CRAWL_TIMEOTU")
    (data_dir.parent / "evidence.toml").write_text('llm_modle = "qwen"\n', encoding="utf-8")
    with pytest.raises(DataErrors, match="llm_modle"):
        load_settings()


def test_secrets_are_masked(data_dir, monkeypatch):
    monkeypatch.setenv("EVIDENCE_DATABASE_URL", "postgresql+psycopg://amal:s3cret@127.0.0.1/test")
    monkeypatch.setenv("EVIDENCE_SMTP_PASSWORD", "mail-s3cret")
    settings = load_settings()
    assert settings.database == "postgresql+psycopg://amal:s3cret@127.0.0.1/test"  # for the engine only
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.model_dump_json()
