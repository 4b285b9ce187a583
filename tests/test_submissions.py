"""Submitted evidence collected end to end: a URL (served on loopback) and an uploaded file are attached to two
items, collected through the collector, indexed, and each ends as a snapshot cited by a new proposal in the
review queue flagged `evidence-submitted`; a watch pass collects too, and keeps the address guard."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from collector.crawl import SAMPLE_LIMITS, run
from collector.runs import CrawlSource
from evidence.database import session_scope
from evidence.record import Attachment, Proposal, Reviewer
from evidence.settings import CrawlLimits, Settings
from review.attachments import store_file, url_evidence
from review.decisions import current_proposals, decide
from review.proposer.run import ProposalRun, questions
from review.queue import QueueFilter, build_queue
from vectorstore.index import index_snapshots
from watch.passes import run_pass

DOCX = Path(__file__).resolve().parents[1] / "sources" / "sample" / "documents" / "digital-plan.docx"
CITIES = ["london", "toronto"]
PORTAL = "The city portal lists its services for residents: libraries, parks, waste collection and permits. " * 8
FIVE_G = ("<html><head><title>5G network</title></head><body><h1>Commercial 5G network at scale</h1>"
          "<p>Commercial 5G service covers all districts of the city since 2023: operators run a 5G network at "
          "scale with 4,100 5G base stations, and 4G coverage is complete.</p>" + "<p>" + PORTAL + "</p></body></html>")


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    for city in CITIES:
        (root / f"{city}.html").write_text(f"<html><head><title>{city} portal</title></head><body><p>{PORTAL}</p>"
                                           "</body></html>", encoding="utf-8")
    (root / "5g.html").write_text(FIVE_G, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def reviewed(site, tmp_path, monkeypatch):
    """Both cities crawled, indexed and proposed on wireless-network; the author attaches evidence to both items:
    a URL to London's, a file (the sample's docx) to Toronto's."""
    monkeypatch.chdir(tmp_path)
    env = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(data_dir=tmp_path / "data", database_url=env["EVIDENCE_DATABASE_URL"])
    sources = [CrawlSource(c, f"{site}/{c}.html", ("127.0.0.1",), True, "seed") for c in CITIES]
    run(settings, "g20-2023", sources, CrawlLimits(**SAMPLE_LIMITS))
    index_snapshots(settings, show_progress=False)
    ProposalRun(settings, "offline", show_progress=False).run(questions("g20-2023", CITIES, ["wireless-network"]))
    with session_scope(settings.database) as s:
        author = Reviewer(name="author", role="author", languages=["en"])
        s.add(author)
        s.flush()
        items = current_proposals(s, "g20-2023")
        before = {c: items[("g20-2023", c, "wireless-network")].id for c in CITIES}
        decide(s, before["london"], author, "attach", evidence=[url_evidence(f"{site}/5g.html")])
        with DOCX.open("rb") as f:
            upload = store_file(settings.data_dir, "digital-plan.docx", f)
        decide(s, before["toronto"], author, "attach", evidence=[upload])
    return {"settings": settings, "before": before, "site": site}


def test_a_submitted_url_and_file_end_as_snapshots_cited_by_new_proposals_in_the_queue(reviewed):
    settings = reviewed["settings"]
    result = CliRunner().invoke(app, ["attachments", "collect", "--allow-private", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert not report["failed"] and len(report["collected"]) == 2
    snapshot_of = {row["kind"]: row["snapshot"] for row in report["collected"]}
    with session_scope(settings.database) as s:
        author = s.scalars(select(Reviewer)).one()
        queue = {(q.city, q.indicator): q for q in build_queue(s, author, QueueFilter(edition="g20-2023"))}
        for city, kind in (("london", "url"), ("toronto", "file")):
            item = queue[(city, "wireless-network")]
            proposal = s.get(Proposal, item.id)
            assert proposal.id != reviewed["before"][city] and "evidence-submitted" in item.flags
            assert snapshot_of[kind] in proposal.evidence_snapshots  # the new proposal cites what was submitted
            assert proposal.level >= 2  # a 5G network at scale, in the submitted evidence
            assert s.get(Proposal, reviewed["before"][city]).stale
        assert {a.state for a in s.scalars(select(Attachment))} == {"collected"}
    again = CliRunner().invoke(app, ["attachments", "collect", "--json"])
    assert json.loads(again.stdout) == {"collected": [], "failed": [], "reproposed": []}  # collected once


def test_a_watch_pass_collects_submissions_with_the_address_guard(reviewed):
    """The watch pass runs the collection; it never allows a private address, so the loopback URL is refused
    (and recorded so), while the file is collected and its item sent back to review."""
    settings = reviewed["settings"]
    result = run_pass(settings, limits=CrawlLimits(**SAMPLE_LIMITS), notify=False)  # no source due: still a pass
    assert result["state"] == "finished"
    with session_scope(settings.database) as s:
        rows = {a.kind: a for a in s.scalars(select(Attachment))}
        assert rows["url"].state == "failed" and "loopback" in rows["url"].reason
        assert rows["file"].state == "collected" and rows["file"].proposal_id is not None
        assert "evidence-submitted" in s.get(Proposal, rows["file"].proposal_id).flags
        london = current_proposals(s, "g20-2023")[("g20-2023", "london", "wireless-network")]
        assert london.id == reviewed["before"]["london"]  # nothing was collected for it: not re-proposed
