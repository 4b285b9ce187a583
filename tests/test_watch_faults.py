"""Faults of the watch (issue 13, item 5): `--every` kept neither `--all` nor `--no-notify`, a registry
source's `schedule` was never stored, a page that failed last time and answers now was a substantive change,
and a failed notification was never sent again. Real loopback servers (the sample, a webhook), SQLite and
PostgreSQL for the record of schedules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from test_watch_pass import Webhook
from typer.testing import CliRunner

from app.cli import app
from collector.crawl import SAMPLE_LIMITS, CrawlLimits, crawl_source, file_sources, run
from collector.runs import record_sources
from collector.server import SampleServer
from evidence.database import session_scope
from evidence.record import SourceRow, WatchChange, WatchPass, now
from evidence.settings import Settings
from evidence.vocabulary import Source
from watch.passes import due_sources, run_pass

LIMITS = CrawlLimits(**SAMPLE_LIMITS)


def test_a_registry_schedule_is_stored_and_decides_when_a_source_is_due(database_url):
    daily = crawl_source("tokyo", Source(url="https://www.metro.tokyo.lg.jp/", kind="portal", provenance="test",
                                         schedule="1d"))
    weekly = crawl_source("paris", Source(url="https://www.paris.fr/", kind="portal", provenance="test"))
    with session_scope(database_url) as s:
        record_sources(s, [daily, weekly])
        for row in s.scalars(select(SourceRow)):
            row.last_crawled_at = now()
    with session_scope(database_url) as s:
        assert {r.city: r.schedule for r in s.scalars(select(SourceRow))} == {"tokyo": "1d", "paris": "7d"}
        assert [r.city for r in due_sources(s, at=now() + timedelta(days=2))] == ["tokyo"]


@pytest.fixture(scope="module")
def sao_paulo(tmp_path_factory):
    """São Paulo crawled at v1; then the server serves v2 (a 5G decree: a substantive, flagged change)."""
    tmp = tmp_path_factory.mktemp("watch-faults")
    webhook = Webhook()
    with SampleServer(version="v1", slow_seconds=1) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVIDENCE_WATCH_WEBHOOK_URL", webhook.url)
        settings = Settings(data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'e.db'}")
        run(settings, "g20-2023", file_sources(server.write_sources(tmp / "sources.yaml"), ["sao-paulo"]), LIMITS)
        server.version = "v2"
        yield {"settings": settings, "webhook": webhook, "server": server}
    webhook.shutdown()


def _watch(settings: Settings, *flags: str) -> dict:
    env = {"EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": settings.database}
    out = CliRunner().invoke(app, ["watch", *flags, "--json"], env=env)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_every_keeps_all_and_no_notify_and_a_failed_notification_is_sent_later(sao_paulo):
    settings, webhook = sao_paulo["settings"], sao_paulo["webhook"]
    webhook.down = True
    flagged = run_pass(settings, everything=True, limits=LIMITS)
    assert flagged["flagged"] == ["sao-paulo"] and flagged["notified"]["webhook"].startswith("failed: ")
    webhook.down = False
    # São Paulo was crawled a moment ago: only --all makes it due; --no-notify sends nothing, not even the
    # notification still owed
    quiet = _watch(settings, "--every", "1m", "--all", "--no-notify", "--passes", "1")
    assert quiet["state"] == "finished" and quiet["crawls"] and quiet["pass"] != flagged["pass"]
    assert webhook.bodies == []
    later = run_pass(settings, limits=LIMITS)  # nothing due: still, the failed notification goes out now
    assert later["state"] == "nothing-due" and webhook.refused == 1
    assert [b["summary"]["pass"] for b in webhook.bodies] == [flagged["pass"]]
    with session_scope(settings.database) as s:
        assert s.get(WatchPass, flagged["pass"]).notified["webhook"] == "sent"
    run_pass(settings, limits=LIMITS)
    assert len(webhook.bodies) == 1, "a notification that went out is not sent again"


def _site_with_a_slow_page(root: Path) -> None:
    site = root / "sites" / "tokyo"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text("city: tokyo\nedition: g20-2023\nname: portal\nlanguage: en\nstart: /index.html\n"
                                    "routes:\n  slow: ['/plan.html']\n", encoding="utf-8")
    (site / "index.html").write_text("<html lang='en'><body><p>The metropolitan portal lists its plans and "
                                     "programmes for residents.</p><a href='/plan.html'>plan</a></body></html>",
                                     encoding="utf-8")
    (site / "plan.html").write_text("<html lang='en'><body><p>The metropolitan government has connected every "
                                    "ward office to the public fibre network.</p></body></html>", encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")


def test_a_page_that_failed_last_time_is_not_a_change_when_it_answers(tmp_path):
    _site_with_a_slow_page(tmp_path / "tree")
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'e.db'}")
    limits = CrawlLimits(**{**SAMPLE_LIMITS, "timeout": 1.0, "retries": 0})
    with SampleServer(root=tmp_path / "tree", slow_seconds=5) as server:
        sources = file_sources(server.write_sources(tmp_path / "sources.yaml"), ["tokyo"])
        first = run(settings, "g20-2023", sources, limits)
        assert first["outcomes"]["tokyo"].get("failed") == 1  # the plan timed out
        server.slow_seconds = 0
        result = run_pass(settings, everything=True, limits=limits, notify=False)
    with session_scope(settings.database) as s:
        [change] = s.scalars(select(WatchChange).where(WatchChange.pass_id == result["pass"])).all()
    assert change.url.endswith("/plan.html") and change.kind == "recovered"
    assert result["flagged"] == [] and result["changes"]["recovered"] == 1
