"""The watch end to end: crawl the sample (v1), index, propose offline, switch the server to v2, run a pass.

São Paulo publishes a 5G decree (wireless-network 1 -> 2); Berlin only changes footer dates and counters.
Real loopback servers throughout: the sample sites, a webhook receiver (http.server) and an SMTP server
(aiosmtpd). SQLite for the scenario (the lock tests run on both backends)."""

from __future__ import annotations

import email
import json
import re
import threading
from datetime import timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from test_review_web import Running, free_port, token
from typer.testing import CliRunner

from app.cli import app
from collector.crawl import SAMPLE_LIMITS, CrawlLimits, file_sources, run
from collector.server import SampleServer
from evidence.database import session_scope
from evidence.record import Fetch, Proposal, Reviewer, WatchChange, now
from evidence.settings import Settings
from review.decisions import current_proposals, decide, states
from review.proposer.run import ProposalRun, questions
from review.queue import QueueFilter, build_queue
from vectorstore.index import index_snapshots
from watch.passes import run_pass

CITIES = ["sao-paulo", "berlin"]
LIMITS = CrawlLimits(**SAMPLE_LIMITS)


class Webhook(ThreadingHTTPServer):
    """A webhook receiver: keeps every POSTed JSON body; answers 503 (and counts it) while `down`."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.down, self.refused = False, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.down:
                    outer.refused += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                else:
                    outer.bodies.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/evidence"


class Mailbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def levels(settings, city: str) -> dict[str, int]:
    """The level of record per indicator: what review put on the table, else the current proposal's."""
    with session_scope(settings.database) as s:
        current = {k[2]: p for k, p in current_proposals(s, "g20-2023").items() if k[1] == city}
        on_table = states(s, list(current.values()))
        return {indicator: on_table[p.id].on_table for indicator, p in current.items()}


def correct_v1_wireless_to_rung_1(settings) -> None:
    """The offline proposer reads v1's "5G ainda está restrito a bairros centrais" as rung 2; the author
    corrects it to 1 (the answer key's level) in review, as people do. That level is what the watch starts from."""
    with session_scope(settings.database) as s:
        author = Reviewer(name="author", role="author", languages=["pt", "de", "en"])
        s.add(author)
        s.flush()
        item = current_proposals(s, "g20-2023")[("g20-2023", "sao-paulo", "wireless-network")]
        if item.level != 1:
            decide(s, item.id, author, "change", level=1, reason="5G only in central districts: not at scale")


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("watch")
    mailbox, webhook = Mailbox(), Webhook()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {"EVIDENCE_WATCH_WEBHOOK_URL": webhook.url, "EVIDENCE_SMTP_HOST": "127.0.0.1",
           "EVIDENCE_SMTP_PORT": str(smtp.port), "EVIDENCE_SMTP_TO": "author@example.org, desk@example.org"}
    with SampleServer(version="v1", slow_seconds=1) as server, pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        settings = Settings(data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'e.db'}",
                            embedding_model="use-multilingual")  # reads the notification settings just set
        sources = file_sources(server.write_sources(tmp / "sources.yaml"), CITIES)
        run(settings, "g20-2023", sources, LIMITS)
        index_snapshots(settings, show_progress=False)
        ProposalRun(settings, "offline", show_progress=False).run(questions("g20-2023", CITIES))
        correct_v1_wireless_to_rung_1(settings)
        before = {city: levels(settings, city) for city in CITIES}
        server.version = "v2"
        result = run_pass(settings, everything=True, limits=LIMITS)
        again = run_pass(settings, everything=True, limits=LIMITS)  # nothing changed since: nothing flagged
    smtp.stop()
    webhook.shutdown()
    return {"settings": settings, "before": before, "result": result, "again": again, "webhook": webhook,
            "mailbox": mailbox, "tmp": tmp, "env": env}


def test_exactly_sao_paulo_is_flagged(watched):
    result = watched["result"]
    assert result["state"] == "finished" and result["flagged"] == ["sao-paulo"]
    with session_scope(watched["settings"].database) as s:
        changes = s.scalars(select(WatchChange).where(WatchChange.pass_id == result["pass"])).all()
    assert {c.city for c in changes} == {"sao-paulo"}
    with session_scope(watched["settings"].database) as s:
        berlin = {f.url.rsplit("/", 1)[-1]: f.outcome for f in s.scalars(select(Fetch).where(
            Fetch.crawl_id.in_(result["crawls"]), Fetch.city == "berlin"))}
    # Berlin's two pages were served anew (footer date, counter) but their extracted text is the same
    assert berlin["gigabit.html"] == berlin["katastrophenschutz.html"] == "unchanged"
    footers = [pair for c in changes for pair in c.cosmetic]
    assert footers and all(old.startswith("Última atualização") for old, _ in footers)  # dates: cosmetic
    decree = next(c for c in changes if c.url.endswith("/noticias/2023-06-5g-todos-distritos.html"))
    assert decree.kind == "substantive" and decree.old_snapshot_id is None  # a new document, found by the crawl
    assert ["g20-2023", "wireless-network"] in decree.indicators


def test_wireless_network_is_reproposed_at_the_next_rung_and_queued(watched):
    settings, before = watched["settings"], watched["before"]
    assert before["sao-paulo"]["wireless-network"] == 1
    after = levels(settings, "sao-paulo")
    assert after["wireless-network"] == 2
    assert levels(settings, "berlin") == before["berlin"]
    with session_scope(settings.database) as s:
        proposals = s.scalars(select(Proposal).where(Proposal.city == "sao-paulo",
                                                     Proposal.indicator == "wireless-network")
                              .order_by(Proposal.id)).all()
        assert [p.stale for p in proposals] == [True, False]  # the old one is stale, the new one is current
        author = s.scalars(select(Reviewer).where(Reviewer.name == "author")).one()
        queue = build_queue(s, author, QueueFilter(edition="g20-2023", city="sao-paulo"))
    item = next(i for i in queue if i.indicator == "wireless-network")
    assert (item.id, item.level, item.status) == (proposals[-1].id, 2, "round-1")


def test_notifications_reach_the_webhook_and_the_smtp_server(watched):
    bodies, messages = watched["webhook"].bodies, watched["mailbox"].messages
    assert len(bodies) == 1 and len(messages) == 1  # the second pass flagged nothing and sent nothing
    body = bodies[0]
    assert [c["name"] for c in body["cities"]] == ["São Paulo"]
    wireless = next(i for i in body["cities"][0]["indicators"] if i["indicator"] == "wireless-network")
    assert (wireless["old_level"], wireless["new_level"]) == (1, 2)
    mail = messages[0]
    assert "São Paulo" in mail["Subject"] and "author@example.org" in mail["To"]
    text = mail.get_body(("plain",)).get_content()
    assert "wireless-network" in text and "Berlin" not in text
    assert watched["result"]["notified"] == {"webhook": "sent", "email": "sent"}


def test_a_pass_over_an_unchanged_corpus_flags_nothing(watched):
    again = watched["again"]
    assert again["state"] == "finished" and again["flagged"] == []
    assert again["changes"] == {"cosmetic": 0, "substantive": 0, "recovered": 0}


def test_report_in_the_cli_markdown_and_html(watched):
    tmp, settings = watched["tmp"], watched["settings"]
    env = {"EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": settings.database}
    runner = CliRunner()
    first = str(watched["result"]["pass"])
    shown = runner.invoke(app, ["watch", "report", "--pass", first, "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    cities = json.loads(shown.stdout)["cities"]
    assert [c["city"] for c in cities] == ["sao-paulo"]
    decree = next(c for c in cities[0]["changes"] if c["new_document"])
    assert decree["new_link"].endswith(f"/watch/snapshots/{decree['new_snapshot']}")
    changed = next(c for c in cities[0]["changes"] if not c["new_document"])
    assert changed["old_link"] and changed["new_link"] and "+" in changed["excerpt"]
    for suffix in ("md", "html"):
        out = tmp / f"report.{suffix}"
        result = runner.invoke(app, ["watch", "report", "--pass", first, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert "São Paulo" in text and "wireless-network" in text and "Berlin" not in text
    assert "```diff" in (tmp / "report.md").read_text() and "<table>" in (tmp / "report.html").read_text()
    table = runner.invoke(app, ["watch", "report", "--pass", first], env=env)
    assert table.exit_code == 0 and "wireless-network" in table.stdout


def test_the_web_app_shows_the_report_and_the_snapshots_it_links(watched):
    from review.auth import add_reviewer

    settings = watched["settings"]
    with session_scope(settings.database) as s:
        add_reviewer(s, "desk", "watch-password-1", languages=["pt"])
    with Running(settings) as running:
        client = httpx.Client(base_url=running.url, timeout=30)
        page = client.get("/signin")
        client.post("/signin", data={"name": "desk", "password": "watch-password-1", "csrf_token": token(page.text),
                                     "next": "/queue"})
        report = client.get("/watch", params={"pass_id": watched["result"]["pass"]})
        assert report.status_code == 200 and "São Paulo" in report.text and "wireless-network" in report.text
        assert "Berlin" not in report.text
        # links are relative to where the app is served (here a free port), never the notification's base URL
        link = re.search(r'href="(/watch/snapshots/\d+)">after', report.text)[1]
        assert "127.0.0.1:8000" not in report.text
        snapshot = client.get(link)
        assert snapshot.status_code == 200 and "96 distritos" in snapshot.text
        assert client.get("/watch/snapshots/999999").status_code == 404


def test_sources_are_not_due_again_until_their_schedule_has_passed(watched):
    settings = watched["settings"]
    assert run_pass(settings)["state"] == "nothing-due"  # each source's schedule is 7d; it was crawled just now
    with session_scope(settings.database) as s:
        from watch.passes import due_sources

        later = due_sources(s, at=now() + timedelta(days=8))
    assert {r.city for r in later} == set(CITIES)
