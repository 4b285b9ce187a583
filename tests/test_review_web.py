"""The review web app over real HTTP: a uvicorn server on 127.0.0.1 in a thread, httpx as the browser,
a seeded record on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from test_review_record import CAIRO_QUOTE, EDITION, PASSWORD, RIYADH_NEW, RIYADH_OLD, seed

from app.web import create_app
from evidence.database import session_scope
from evidence.record import Attachment, Decision, Document, Snapshot
from evidence.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, settings: Settings):
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(),
                                                    log_level="warning"))
        self.url = f"http://127.0.0.1:{self.server.config.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            assert time.time() < deadline, "the app did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def serving(database: str, data: Path):
    seeded = seed(database)
    settings = Settings(data_dir=data, database_url=database)
    with Running(settings) as running:
        running.seeded, running.settings = seeded, settings
        yield running


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The app on both backends: for what concurrency and storage could break."""
    monkeypatch.delenv("EVIDENCE_SESSION_SECRET", raising=False)
    yield from serving(database_url, tmp_path / "data")


@pytest.fixture
def lite_app(sqlite_url, tmp_path, monkeypatch):
    """The app on SQLite only: for pages whose logic does not depend on the backend."""
    monkeypatch.delenv("EVIDENCE_SESSION_SECRET", raising=False)
    yield from serving(sqlite_url, tmp_path / "data")


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def signed_in(app: Running, name: str) -> httpx.Client:
    client = httpx.Client(base_url=app.url, timeout=30)
    page = client.get("/signin")
    reply = client.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token(page.text),
                                         "next": "/queue"})
    assert reply.status_code == 303 and reply.headers["location"] == "/queue"
    return client


def decisions(database_url: str) -> list[tuple]:
    with session_scope(database_url) as s:
        return [(d.proposal_id, d.reviewer_id, d.action, d.level, d.reason, d.round)
                for d in s.scalars(select(Decision).order_by(Decision.id))]


# --- sign-in and CSRF ---------------------------------------------------------------------------

def test_pages_need_a_signed_in_reviewer_and_a_right_password(lite_app):
    client = httpx.Client(base_url=lite_app.url)
    reply = client.get("/queue")
    assert reply.status_code == 303 and reply.headers["location"].startswith("/signin")
    page = client.get("/signin")
    wrong = client.post("/signin", data={"name": "amal", "password": "guess", "csrf_token": token(page.text)})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    assert client.get("/queue").status_code == 303
    assert "content-security-policy" in page.headers


def test_a_forged_form_without_the_csrf_token_is_refused(lite_app, sqlite_url):
    client = signed_in(lite_app, "amal")
    page = client.get(f"/items/{lite_app.seeded.cairo_5g}")
    assert page.status_code == 200
    form = {"version": version(page.text), "action": "change", "level": "4", "reason": "forged"}
    missing = client.post(f"/items/{lite_app.seeded.cairo_5g}/decide", data=form)
    wrong = client.post(f"/items/{lite_app.seeded.cairo_5g}/decide", data={**form, "csrf_token": "x" * 43})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "CSRF" in missing.text
    assert decisions(sqlite_url) == [], "a refused form records nothing"
    stranger = httpx.Client(base_url=lite_app.url)  # a session of its own, without amal's token
    stranger.get("/signin")
    assert stranger.post("/signin", data={"name": "amal", "password": PASSWORD}).status_code == 403


# --- routing ------------------------------------------------------------------------------------

def test_an_item_not_routed_to_the_reviewer_is_forbidden(lite_app):
    amal, chen, lead = signed_in(lite_app, "amal"), signed_in(lite_app, "chen"), signed_in(lite_app, "lead")
    assert amal.get(f"/items/{lite_app.seeded.tunis}").status_code == 403, "French evidence, amal reads ar and en"
    assert chen.get(f"/items/{lite_app.seeded.cairo_5g}").status_code == 403, "nothing was opened to chen"
    forged = chen.post(f"/items/{lite_app.seeded.cairo_5g}/decide",
                       data={"csrf_token": token(chen.get("/queue").text), "version": "0", "action": "accept"})
    assert forged.status_code == 403
    assert lead.get(f"/items/{lite_app.seeded.tunis}").status_code == 200, "the author sees everything"
    assert lead.get("/items/9999").status_code == 404
    queue = amal.get("/queue").text
    assert f'href="/items/{lite_app.seeded.cairo_5g}"' in queue and f'href="/items/{lite_app.seeded.tunis}"' not in queue
    assert amal.get("/log").status_code == 403 and amal.get("/assignments").status_code == 403


# --- the item and deciding ----------------------------------------------------------------------

def test_the_item_page_shows_the_ladder_in_the_citys_language_too(lite_app):
    from frameworks import load_framework

    arab = load_framework("arab-2024")
    assert "ar" in arab.languages, "the Arabic ladder ships with arab-2024"
    page = signed_in(lite_app, "amal").get(f"/items/{lite_app.seeded.cairo_5g}").text
    five_g = arab.indicator("wireless-network").rung(2).text
    assert five_g.en in page and f'<span class="rung-local" lang="ar" dir="auto">{five_g.get("ar")}</span>' in page
    assert ("draft translation" in page) == arab.translations["ar"]



def test_the_item_page_marks_the_quote_in_its_snapshot(lite_app):
    page = signed_in(lite_app, "amal").get(f"/items/{lite_app.seeded.cairo_5g}").text
    assert f'<mark class="quote">{CAIRO_QUOTE}</mark>' in page
    assert "http://127.0.0.1:9/cairo/5g.html" in page and "2024-06-01" in page
    assert 'id="proposed-rung"' in page and "satellite internet at scale" in page  # missing for the next rung
    assert "machine translation" not in page, "no LLM endpoint configured, no translation"


def test_two_people_deciding_at_once_the_second_is_told_and_keeps_their_entries(app, database_url):
    amal, basil = signed_in(app, "amal"), signed_in(app, "basil")
    item = app.seeded.cairo_5g
    seen_by_amal, seen_by_basil = amal.get(f"/items/{item}").text, basil.get(f"/items/{item}").text
    first = amal.post(f"/items/{item}/decide", data={"csrf_token": token(seen_by_amal), "version": version(seen_by_amal),
                                                     "action": "accept"})
    assert first.status_code == 303
    second = basil.post(f"/items/{item}/decide", data={
        "csrf_token": token(seen_by_basil), "version": version(seen_by_basil), "action": "change", "level": "3",
        "reason": "satellite backhaul mentioned in the annex"})
    assert second.status_code == 409
    assert 'id="conflict"' in second.text and "amal" in second.text
    assert "satellite backhaul mentioned in the annex</textarea>" in second.text, "basil's reason is kept"
    assert re.search(r'<option value="3" selected>', second.text), "basil's level is kept"
    assert decisions(database_url) == [(item, app.seeded.reviewers["amal"], "accept", 1, "", 1)]
    again = basil.post(f"/items/{item}/decide", data={
        "csrf_token": token(second.text), "version": version(second.text), "action": "change", "level": "3",
        "reason": "satellite backhaul mentioned in the annex"})
    assert again.status_code == 303
    assert decisions(database_url)[-1] == (item, app.seeded.reviewers["basil"], "change", 3,
                                           "satellite backhaul mentioned in the annex", 2)


def test_attached_file_is_stored_and_survives_a_conflict(app, database_url):
    amal, basil = signed_in(app, "amal"), signed_in(app, "basil")
    item = app.seeded.riyadh
    seen = basil.get(f"/items/{item}").text
    page = amal.get(f"/items/{item}").text
    assert amal.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page),
                                                     "action": "reject", "reason": "no command centre at scale"}
                     ).status_code == 303
    content = b"Riyadh municipality letter: the 911 centre links every district."
    lost = basil.post(f"/items/{item}/decide", data={"csrf_token": token(seen), "version": version(seen),
                                                     "action": "attach", "url": "https://example.org/letter"},
                      files={"file": ("letter.txt", io.BytesIO(content), "text/plain")})
    assert lost.status_code == 409 and "letter.txt" in lost.text
    kept = re.search(r'name="kept_file" value="([^"]+)"', lost.text).group(1)
    retry = basil.post(f"/items/{item}/decide", data={"csrf_token": token(lost.text), "version": version(lost.text),
                                                      "action": "attach", "url": "https://example.org/letter",
                                                      "kept_file": kept})
    assert retry.status_code == 303
    with session_scope(database_url) as s:
        rows = [(a.kind, a.url, a.filename, a.size, a.state) for a in s.scalars(select(Attachment).order_by(Attachment.id))]
        sha = s.scalars(select(Attachment.sha256).where(Attachment.kind == "file")).one()
    assert rows == [("file", None, "letter.txt", len(content), "pending"),
                    ("url", "https://example.org/letter", None, None, "pending")]
    assert (app.settings.data_dir / "attachments" / sha).read_bytes() == content


def test_audit_log_page_lists_every_step(app):
    amal, basil, lead = signed_in(app, "amal"), signed_in(app, "basil"), signed_in(app, "lead")
    item = app.seeded.cairo_5g
    page = amal.get(f"/items/{item}").text
    amal.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page), "action": "change",
                                             "level": "2", "reason": "5G in every district"})
    page = basil.get(f"/items/{item}").text
    basil.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page), "action": "accept"})
    log = lead.get("/log").text
    rows = re.findall(r"<tr><td>[\d\- :]+</td><td>(\w+)</td><td>(\w+)</td>", log)
    assert rows == [("lead", "assign"), ("lead", "assign"), ("amal", "change"), ("basil", "accept")]
    assert "5G in every district" in log


# --- ranking, progress, language --------------------------------------------------------------------

def test_ranking_is_marked_incomplete_and_shows_confirmed_scores(app):
    from frameworks import load_framework
    from frameworks.weights import load_weights
    from scoring.scores import shown

    amal, basil = signed_in(app, "amal"), signed_in(app, "basil")
    assert amal.get(f"/ranking/chart.svg?edition={EDITION}").status_code == 404, "nothing confirmed, no chart"
    assert "No level is confirmed yet" in amal.get(f"/ranking?edition={EDITION}").text
    item = app.seeded.cairo_fibre
    for client in (amal, basil):
        page = client.get(f"/items/{item}").text
        assert client.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page),
                                                          "action": "accept"}).status_code == 303
    edition = load_framework(EDITION)
    weight = load_weights(edition).vector[[i.id for i in edition.indicators].index("wired-network")]
    page = amal.get(f"/ranking?edition={EDITION}").text
    row = re.search(r'<tr data-city="cairo"><td>(\d+)</td><td>Cairo</td><td class="total">([\d.]+)</td>', page)
    assert row.groups() == ("1", shown(2 * weight))
    assert 'id="incomplete"' in page and "3 item(s) still under review" in page
    chart = amal.get(f"/ranking/chart.svg?edition={EDITION}")
    assert chart.headers["content-type"].startswith("image/svg+xml") and "<svg" in chart.text


def test_progress_page_counts_items_by_status(lite_app):
    amal = signed_in(lite_app, "amal")
    page = amal.get(f"/items/{lite_app.seeded.riyadh}").text
    amal.post(f"/items/{lite_app.seeded.riyadh}/decide", data={"csrf_token": token(page), "version": version(page),
                                                           "action": "accept"})
    progress = amal.get(f"/progress?edition={EDITION}").text
    counts = dict(re.findall(r'<tr data-status="([\w-]+)"><th>[^<]+</th><td>(\d+)</td>', progress))
    assert counts == {"round-1": "3", "round-2": "1", "round-3": "0", "confirmed": "0"}
    assert "proposer / amal" in progress


def test_the_interface_switches_to_chinese(lite_app):
    amal = signed_in(lite_app, "amal")
    switched = amal.get("/lang/zh?next=/queue")
    assert switched.status_code == 303 and switched.cookies.get("lang") == "zh"
    queue = amal.get("/queue").text
    assert "需要您审核的条目" in queue and "English" in queue
    item = amal.get(f"/items/{lite_app.seeded.cairo_5g}").text
    assert "5G/5G-A 网络规模商用" in item and "接受等级 1" in item
    changes = amal.get("/watch").text
    assert "政策变化" in changes and "尚无监测记录" in changes  # no watch pass in this record yet


def test_a_watch_pass_that_is_not_in_the_record_is_not_found(lite_app):
    amal = signed_in(lite_app, "amal")
    stale = amal.get("/watch?pass_id=999")  # a stale link: the page used to fail on the missing pass
    assert stale.status_code == 404
    assert "Not found" in stale.text and "watch pass: #999: no such pass" in stale.text


# --- translation through a loopback OpenAI-compatible endpoint ---------------------------------------

class ChatCompletions(BaseHTTPRequestHandler):
    """Speaks the OpenAI chat-completions protocol: answers with a fixed English rendering."""

    seen: ClassVar[list[dict]] = []  # one list for every request the server handles

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatCompletions.seen.append(body)
        reply = {"id": "t1", "object": "chat.completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": "5G coverage completed in every district"}}],
                 "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_quotes_are_translated_when_an_llm_endpoint_is_configured(sqlite_url, tmp_path):
    llm = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    try:
        seeded = seed(sqlite_url)
        settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url,
                            llm_base_url=f"http://127.0.0.1:{llm.server_port}/v1", llm_model="translator-test")
        with Running(settings) as running:
            running.seeded = seeded
            page = signed_in(running, "amal").get(f"/items/{seeded.cairo_5g}").text
    finally:
        llm.shutdown()
    assert "5G coverage completed in every district" in page and "machine translation" in page
    asked = ChatCompletions.seen[-1]
    assert asked["model"] == "translator-test" and asked["messages"][-1]["content"] == CAIRO_QUOTE


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'evidence.db'}"


def test_evidence_search_finds_and_marks_the_seeded_passage(sqlite_url, tmp_path):
    from vectorstore.index import index_snapshots

    seed(sqlite_url)
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url, embedding_model="use-multilingual")
    index_snapshots(settings, show_progress=False)
    with Running(settings) as running:
        client = signed_in(running, "amal")
        page = client.get("/search", params={"q": "gigabit fibre households", "city": "cairo"}).text
        empty = client.get("/search", params={"q": "gigabit fibre households", "city": "riyadh", "language": "en"}).text
        later = client.get("/search", params={"q": "gigabit fibre households", "since": "2030-01-01"}).text
        unknown = client.get("/search", params={"q": "fibre", "city": "atlantis"})
        exported = client.get("/search", params={"q": "gigabit fibre households", "city": "cairo", "format": "csv"})
    groups = page.split('<section class="document-hits"')[1:]
    assert groups and "http://127.0.0.1:9/cairo/fibre.html" in groups[0] and 'href="/documents/' in groups[0]
    assert "<mark>gigabit</mark>" in page and re.search(r'id="count">\d+ passages · \d+ documents', page)
    assert "Nothing found." in empty and "Nothing found." in later  # the date filter applies
    assert unknown.status_code == 400 and "atlantis" in unknown.text
    assert exported.headers["content-type"].startswith("text/csv") and "cairo/fibre.html" in exported.text


def test_every_message_has_english_and_chinese_and_a_gap_is_named(tmp_path):
    from evidence.errors import DataError
    from review.web.i18n import CATALOGUE, catalogue

    messages = catalogue()
    assert all(set(texts) >= {"en", "zh"} for texts in messages.values())
    broken = tmp_path / "messages.yaml"
    broken.write_text(CATALOGUE.read_text(encoding="utf-8") + 'half_done: {en: "Only English"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="half_done: missing text in zh"):
        catalogue(broken)


# --- the corpus: documents, versions, diffs -----------------------------------------------------


def riyadh_document(database: str) -> tuple[int, list[int]]:
    with session_scope(database) as s:
        doc = s.scalars(select(Document).where(Document.city == "riyadh")).one()
        return doc.id, [snap.id for snap in s.scalars(select(Snapshot).where(Snapshot.document_id == doc.id)
                                                       .order_by(Snapshot.id))]


def test_documents_are_listed_filtered_by_facets_and_exported(lite_app):
    lead = signed_in(lite_app, "lead")
    page = lead.get("/documents").text
    assert '<option value="riyadh"' in page and '<option value="ar"' in page  # facets come from the data
    assert page.count("<tr data-document=") >= 4
    riyadh = lead.get("/documents", params={"city": "riyadh"}).text
    assert riyadh.count("<tr data-document=") == 1 and ">2</td></tr>" in riyadh  # its two versions
    unknown = lead.get("/documents", params={"city": "atlantis"})
    assert unknown.status_code == 400 and "atlantis" in unknown.text and "known: " in unknown.text
    assert lead.get("/documents", params={"since": "yesterday"}).status_code == 400
    exported = lead.get("/documents", params={"city": "riyadh", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.headers["content-type"].startswith("text/csv") and [r["city"] for r in rows] == ["riyadh"]
    assert lead.get("/documents", params={"format": "json"}).json()[0]["id"]


def test_a_document_shows_its_versions_and_the_diff_between_them(lite_app):
    lead = signed_in(lite_app, "lead")
    doc, (old, new) = riyadh_document(lite_app.settings.database)
    page = lead.get(f"/documents/{doc}").text
    assert f'href="/documents/{doc}/diff?old={old}&amp;new={new}"' in page and RIYADH_NEW in page
    diff = lead.get(f"/documents/{doc}/diff", params={"old": old, "new": new}).text
    assert f'<div class="del">-{RIYADH_OLD}</div>' in diff and f'<div class="add">+{RIYADH_NEW}</div>' in diff
    assert lead.get("/documents/99999").status_code == 404
    assert lead.get(f"/documents/{doc}/diff", params={"old": old, "new": 99999}).status_code == 404


def test_round_two_sees_round_ones_level_and_reason_beside_the_form(lite_app):
    amal, basil = signed_in(lite_app, "amal"), signed_in(lite_app, "basil")
    item = f"/items/{lite_app.seeded.cairo_5g}"
    first = amal.get(item).text
    assert 'id="earlier-rounds"' not in first
    reply = amal.post(f"{item}/decide", data={"csrf_token": token(first), "version": version(first), "action": "change",
                                              "level": "2", "reason": "5G covers every district"})
    assert reply.status_code == 303
    second = basil.get(item).text
    earlier = second.split('id="earlier-rounds"')[1].split("</ul>")[0]
    assert "round 1" in earlier.lower() and "amal" in earlier and "2" in earlier
    assert "<q dir=\"auto\">5G covers every district</q>" in earlier


def test_the_decision_form_is_offered_only_to_who_may_use_it(lite_app):
    amal = signed_in(lite_app, "amal")
    item = f"/items/{lite_app.seeded.cairo_5g}"
    first = amal.get(item).text
    assert 'id="accept"' in first and 'id="not-yours"' not in first
    amal.post(f"{item}/decide", data={"csrf_token": token(first), "version": version(first), "action": "accept"})
    again = amal.get(item).text  # round 2 is verification by someone else
    assert 'id="accept"' not in again and 'id="not-yours"' in again and 'id="attach"' in again
