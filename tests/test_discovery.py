"""Discovery against loopback servers speaking SearXNG's and Brave's JSON protocols: queries per city and rung in
the city's languages on its official domain (and `filetype:pdf`), candidates recorded with their query, and
accepting one adds a seed source and crawls it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from collector.queries import city_queries
from evidence.database import session_scope
from evidence.record import Fetch, Snapshot
from frameworks import load_framework
from sources import load_registry

PDF = Path(__file__).resolve().parents[1] / "sources" / "sample" / "sites" / "london" / "publications" / \
    "smarter-london-together-2022.pdf"
KEY = "brave-test-key"
PAGE = ("<html><head><title>5G everywhere</title></head><body><h1>5G network at scale</h1><p>"
        + "Commercial 5G service covers every district of the harbour city. " * 10 + "</p></body></html>")


class Search(ThreadingHTTPServer):
    """One loopback server: the city's site, a SearXNG instance and the Brave Search API. Every query asked is
    kept; a PDF query is answered with the site's plan, any other with its 5G page and an off-site result."""

    def __init__(self):
        self.queries: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/search" and params.get("format") == "json":
                    outer.queries.append(("searxng", params["q"]))
                    return self._json({"query": params["q"], "results": [
                        {"url": u, "title": t, "content": c, "engine": "test"} for u, t, c in outer.answer(params["q"])]})
                if parts.path == "/res/v1/web/search":
                    if self.headers.get("X-Subscription-Token") != KEY:
                        return self._json({"error": "invalid subscription token"}, 401)
                    outer.queries.append(("brave", params["q"]))
                    return self._json({"type": "search", "web": {"type": "search", "results": [
                        {"url": u, "title": t, "description": c} for u, t, c in outer.answer(params["q"])]}})
                if parts.path == "/city/plan.pdf":
                    return self._send(PDF.read_bytes(), "application/pdf")
                if parts.path == "/city/5g.html":
                    return self._send(PAGE.encode(), "text/html; charset=utf-8")
                return self._send(b"not found", "text/plain", 404)

            def _json(self, data, status=200):
                self._send(json.dumps(data).encode(), "application/json", status)

            def _send(self, body: bytes, content_type: str, status: int = 200):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def answer(self, query: str) -> list[tuple[str, str, str]]:
        if query.endswith("filetype:pdf"):
            return [(f"{self.base}/city/plan.pdf", "Smarter city plan", "the city's plan (PDF)")]
        return [(f"{self.base}/city/5g.html", "5G everywhere", "commercial 5G in every district"),
                ("https://elsewhere.example/5g", "Someone else's page", "not the city's domain")]


@pytest.fixture
def search():
    server = Search()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(search, tmp_path, monkeypatch):
    """A user registry with one city whose official site is the loopback server, in English and Arabic."""
    registry = tmp_path / "registry"
    registry.mkdir()
    values = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
              "EVIDENCE_REGISTRY_DIRS": json.dumps([str(registry)]), "EVIDENCE_CRAWL_DELAY": "0",
              "EVIDENCE_DISCOVERY_ENGINE": "searxng", "EVIDENCE_DISCOVERY_BASE_URL": search.base}
    monkeypatch.chdir(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(app, ["cities", "add", "test-harbour", "--country", "OM", "--en", "Test Harbour", "--zh",
                               "测试港", "--local", "ميناء", "--languages", "ar,en", "--editions", "arab-2024"]).exit_code == 0
    added = runner.invoke(app, ["sources", "add", "test-harbour", f"{search.base}/", "--kind", "seed",
                                "--allow-private", "--provenance", "the loopback test city"])
    assert added.exit_code == 0, added.output
    return values


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_queries_are_per_rung_in_the_city_languages_on_its_domain():
    edition = load_framework("arab-2024")
    riyadh = load_registry().get("riyadh")
    indicator = edition.indicators[0]
    queries = city_queries(edition, riyadh, [indicator.id])
    rung = indicator.rungs[0]
    assert {q.text for q in queries if q.level == 1} == {
        f'"{rung.text.get(lang)}" site:alriyadh.gov.sa{suffix}' for lang in ("ar", "en") for suffix in ("", " filetype:pdf")}
    assert len(queries) == 4 * indicator.top and all(q.domain == "alriyadh.gov.sa" for q in queries)


def test_searxng_candidates_are_recorded_with_their_query_and_accepting_one_crawls_it(search, env):
    found = invoke("discover", "--edition", "arab-2024", "--city", "test-harbour", "--indicator", "wireless-network",
                   "--no-feeds", "--json")
    assert found.exit_code == 0, found.output
    report = json.loads(found.stdout)
    assert report["queries"] == len(search.queries) and report["new_candidates"] == {"test-harbour": 2}
    assert all(engine == "searxng" and "site:127.0.0.1" in q for engine, q in search.queries)
    rung = load_framework("arab-2024").indicator("wireless-network").rungs[0]
    assert {f'"{rung.text.get(lang)}" site:127.0.0.1' for lang in ("ar", "en")} <= {q for _, q in search.queries}
    listed = json.loads(invoke("discover", "candidates", "--city", "test-harbour", "--json").stdout)
    by_url = {c["url"].rsplit("/", 1)[1]: c for c in listed}
    assert set(by_url) == {"5g.html", "plan.pdf"}  # the off-site result is dropped, repeats are one candidate
    plan = by_url["plan.pdf"]
    assert plan["query"].endswith("filetype:pdf") and (plan["engine"], plan["indicator"]) == ("searxng", "wireless-network")
    assert (by_url["plan.pdf"]["query"], "searxng") in {(q, e) for e, q in search.queries}
    accepted = invoke("discover", "accept", str(by_url["plan.pdf"]["id"]), "--allow-private", "--json")
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)["crawls"][0]["new_snapshots"] == 1
    with session_scope(env["EVIDENCE_DATABASE_URL"]) as s:
        fetched = s.scalars(select(Fetch).where(Fetch.url == f"{search.base}/city/plan.pdf")).one()
        assert fetched.outcome == "new-snapshot" and s.get(Snapshot, fetched.snapshot_id).meta["kind"] == "pdf"
    source = load_registry().get("test-harbour").sources[-1]
    assert (source.url, source.kind) == (f"{search.base}/city/plan.pdf", "seed") and "searxng query" in source.provenance
    assert [c["url"] for c in json.loads(invoke("discover", "candidates", "--json").stdout)] == [f"{search.base}/city/5g.html"]


def test_brave_is_asked_with_its_key_and_a_wrong_key_is_a_clear_error(search, env, monkeypatch):
    monkeypatch.setenv("EVIDENCE_DISCOVERY_ENGINE", "brave")
    monkeypatch.setenv("EVIDENCE_DISCOVERY_API_KEY", "wrong")
    refused = invoke("discover", "--edition", "arab-2024", "--city", "test-harbour", "--indicator", "wireless-network",
                     "--no-feeds")
    assert f"brave at {search.base}/res/v1/web/search: HTTP 401" in str(refused.exception)
    monkeypatch.setenv("EVIDENCE_DISCOVERY_API_KEY", KEY)
    found = invoke("discover", "--edition", "arab-2024", "--city", "test-harbour", "--indicator", "wireless-network",
                   "--no-feeds", "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["new_candidates"] == {"test-harbour": 2}
    engines = {c["engine"] for c in json.loads(invoke("discover", "candidates", "--json").stdout)}
    assert engines == {"brave"} and {e for e, _ in search.queries} == {"brave"}


def test_without_a_search_api_discovery_says_which_setting(env, monkeypatch):
    monkeypatch.delenv("EVIDENCE_DISCOVERY_ENGINE")
    result = invoke("discover", "--edition", "arab-2024", "--city", "test-harbour", "--no-feeds")
    assert "set EVIDENCE_DISCOVERY_ENGINE" in str(result.exception)
