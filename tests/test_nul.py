"""NUL characters (\\x00), which PostgreSQL cannot store in text: a crawled page keeps its text without them
(and says how many it lost); a NUL typed into the app is refused by name, never a 500; on both backends."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from test_review_web import serving, signed_in, token, version
from typer.testing import CliRunner

from app.cli import app as cli
from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import Decision, Fetch, Snapshot


@pytest.fixture
def site(tmp_path):
    """A loopback site of two pages with NULs: a text file and an HTML page whose title holds one."""
    docs = tmp_path / "site"
    docs.mkdir()
    (docs / "plan.txt").write_bytes(b"Smart city plan\x00 2031.\n\x00\x00Every district has 5G coverage.\n")
    (docs / "page.html").write_bytes(b"<!doctype html><html lang='en'><head><title>Open\x00 data</title></head><body>"
                                     b"<p>The portal publishes\x00 four hundred data sets under an open licence, "
                                     b"updated every week by the city's statistics office.</p></body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(docs)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_crawled_page_with_nul_characters_is_kept_without_them(database_url, data_dir, site, tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f"  - {{city: cairo, url: '{site}/{page}', kind: seed, allow_private: true, provenance: test}}\n"
        for page in ("plan.txt", "page.html")), encoding="utf-8")
    env = {"EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_CRAWL_DELAY": "0"}
    crawled = CliRunner().invoke(cli, ["crawl", "--edition", "arab-2024", "--sources", str(sources), "--depth", "0",
                                       "--city", "cairo", "--json"], env=env)
    assert crawled.exit_code == 0, crawled.output
    assert json.loads(crawled.stdout)["problems"] == []
    with session_scope(database_url) as s:
        snapshots = {snap.url.rsplit("/", 1)[1]: snap for snap in s.scalars(select(Snapshot))}
        outcomes = {f.url.rsplit("/", 1)[1]: f.outcome for f in s.scalars(select(Fetch))}
    assert outcomes == {"plan.txt": "new-snapshot", "page.html": "new-snapshot"}
    plan = snapshots["plan.txt"]
    assert plan.text == "Smart city plan 2031.\nEvery district has 5G coverage." and plan.meta["nul_removed"] == 3
    page = snapshots["page.html"]
    assert "\x00" not in page.text and "four hundred data sets under an open licence" in page.text  # HTML: U+FFFD
    assert "\x00" not in (page.title or "")


@pytest.fixture
def served(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("EVIDENCE_SESSION_SECRET", raising=False)
    yield from serving(database_url, tmp_path / "data")


def test_nul_characters_typed_into_the_app_are_refused_by_name(served, database_url):
    stranger = signed_in(served, "amal")
    stranger.cookies.clear()
    page = stranger.get("/signin")
    wrong = stranger.post("/signin", data={"name": "amal\x00", "password": "correct horse",
                                           "csrf_token": token(page.text)})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    amal = signed_in(served, "amal")
    item = amal.get(f"/items/{served.seeded.cairo_5g}")
    reply = amal.post(f"/items/{served.seeded.cairo_5g}/decide",
                      data={"csrf_token": token(item.text), "version": version(item.text), "action": "change",
                            "level": "2", "reason": "5G in every\x00 district"})
    assert reply.status_code == 400 and "decision: reason: contains a NUL character" in reply.text
    assert "5G in every" in reply.text  # what was typed is handed back
    with session_scope(database_url) as s:
        assert s.scalars(select(Decision)).all() == []
    queue = amal.get("/queue", params={"city": "cai\x00ro"})  # a filter no row can match
    assert queue.status_code in (200, 400) and "Internal Server Error" not in queue.text


def test_a_reviewer_name_with_a_nul_is_refused(database_url):
    from review.auth import add_reviewer

    with session_scope(database_url) as s, pytest.raises(DataError, match="reviewer: name: contains a NUL"):
        add_reviewer(s, "ne\x00w", "a long enough password")


class LongValidators(SimpleHTTPRequestHandler):
    """A page whose ETag is longer than the record's column (300 characters): PostgreSQL refused the row."""

    def end_headers(self):
        self.send_header("ETag", '"' + "e" * 400 + '"')
        super().end_headers()

    def log_message(self, *args):
        pass


def test_a_page_with_a_validator_too_long_to_store_is_kept_without_it(database_url, data_dir, tmp_path):
    docs = tmp_path / "site"
    docs.mkdir()
    (docs / "plan.txt").write_text("Every district has 5G coverage since 2023.\n", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(LongValidators, directory=str(docs)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{city: cairo, url: 'http://127.0.0.1:{server.server_address[1]}/plan.txt', "
                       "kind: seed, allow_private: true, provenance: test}\n", encoding="utf-8")
    env = {"EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_CRAWL_DELAY": "0"}
    try:
        crawled = CliRunner().invoke(cli, ["crawl", "--edition", "arab-2024", "--sources", str(sources), "--depth", "0",
                                           "--city", "cairo", "--json"], env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert crawled.exit_code == 0, crawled.output
    with session_scope(database_url) as s:
        assert [f.outcome for f in s.scalars(select(Fetch))] == ["new-snapshot"]
        assert [snap.text for snap in s.scalars(select(Snapshot))] == ["Every district has 5G coverage since 2023."]
