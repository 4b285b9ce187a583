"""End to end: the real `evidence crawl` command against the bundled sample served on loopback.

One module-wide scenario crawls the g20-2023 sample cities three times (v1, v1 again, v2) and
keeps what each run recorded; the tests below check it against the sample's own files and site.yaml, so
they follow the sample as its authors extend it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
from protego import Protego
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from collector.extract import extract
from collector.sample import SAMPLE, load_sites
from collector.server import SampleServer
from evidence.database import open_engine, session_scope
from evidence.record import Crawl, Document, Fetch, Page, Snapshot

EVIDENCE = str(Path(sys.executable).with_name("evidence"))
POSTGRES = os.environ.get("EVIDENCE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "never-in-a-file"
G20 = ["berlin", "london", "moscow", "paris", "riyadh", "sao-paulo", "shanghai", "tokyo"]  # the sample's g20-2023 cities
# the timeout must stay well above a loaded 2-core machine's page time and far below the slow page's 30 s
FAST = ["--timeout", "3", "--retries", "1", "--backoff", "0.1", "--delay", "0", "--concurrency", "4",
        "--max-bytes", "1000000"]


def evidence(*args, data_dir: Path, database: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_DATABASE_URL": database, "COLUMNS": "200"}
    return subprocess.run([EVIDENCE, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=data_dir.parent)


def crawl(*args, data_dir: Path, database: str, sources: Path) -> dict:
    out = evidence("crawl", "--sources", str(sources), *FAST, *args, "--json", data_dir=data_dir, database=database)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def server():
    with SampleServer(slow_seconds=30) as running:
        yield running


@pytest.fixture(scope="module")
def scenario(server, tmp_path_factory):
    """Crawl v1, crawl v1 again, switch the server to v2 and crawl again; keep each run's summary and hits.
    (SQLite; the arab-2024 crawl below runs on PostgreSQL.)"""
    home = tmp_path_factory.mktemp("crawl")
    backend = f"sqlite:///{home / 'evidence.db'}"
    data_dir, sources = home / "data", server.write_sources(home / "sources.yaml")
    server.version = "v1"
    runs, hits = {}, {}
    for phase, version in (("first", "v1"), ("again", "v1"), ("v2", "v2")):
        server.version = version
        before = len(server.hits)
        runs[phase] = crawl("--edition", "g20-2023", data_dir=data_dir, database=backend, sources=sources)
        hits[phase] = server.hits[before:]
    server.version = "v1"
    return {"runs": runs, "hits": hits, "database": backend, "data_dir": data_dir, "urls": server.urls}


def fetches(database: str, crawl_id: int) -> list[Fetch]:
    with session_scope(database) as s:
        return s.scalars(select(Fetch).where(Fetch.crawl_id == crawl_id).order_by(Fetch.id)).all()


def by_url(database: str, crawl_id: int) -> dict[str, Fetch]:
    return {f.url: f for f in fetches(database, crawl_id)}


def snapshot_of(database: str, url: str) -> Snapshot | None:
    with session_scope(database) as s:
        page = s.scalars(select(Page).where(Page.url == url)).first()
        return s.get(Snapshot, page.snapshot_id) if page and page.snapshot_id else None


def sites(cities=G20, version="v1"):
    return [site for site in load_sites(SAMPLE, version) if site.city in cities]


def squash(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


# --- the first crawl ------------------------------------------------------------------------------

def test_first_crawl_finishes_with_snapshots_for_every_city(scenario):
    first = scenario["runs"]["first"]
    assert first["state"] == "finished"
    for city in G20:
        assert first["outcomes"][city].get("new-snapshot", 0) >= 5, (city, first["outcomes"][city])
    assert first["new_snapshots"] == sum(c.get("new-snapshot", 0) for c in first["outcomes"].values())


def test_robots_forbidden_sections_are_never_requested(scenario):
    refused = [f for f in fetches(scenario["database"], scenario["runs"]["first"]["crawl"]) if f.outcome == "refused"]
    for site in sites():
        robots = Protego.parse(site.file("/robots.txt").read_text(encoding="utf-8"))
        forbidden = [h.path for h in scenario["hits"]["first"] if h.city == site.city
                     and not robots.can_fetch(f"http://x{h.path}", "evidence-collector")]
        assert forbidden == [], f"{site.city}: requested despite robots.txt: {forbidden}"
        mine = [f for f in refused if f.city == site.city and f.reason == "forbidden by robots.txt"]
        assert mine, f"{site.city}: the link into its forbidden section should be recorded as refused"
        assert all(not robots.can_fetch(f.url, "evidence-collector") for f in mine)


def test_legacy_encodings_decode_to_the_right_text(scenario):
    seen = set()
    for site in sites():
        for path, charset in site.spec.routes.charsets.items():
            raw = site.file(path).read_bytes()
            paragraphs = lxml.html.document_fromstring(raw.decode(charset)).iter("p")
            truth = max((p.text_content() for p in paragraphs), key=len)  # Python's codec: the reference
            snap = snapshot_of(scenario["database"], scenario["urls"][site.city] + path)
            assert snap is not None, f"{site.city}{path} has no snapshot"
            assert "\ufffd" not in snap.text
            assert squash(truth)[:60] in squash(snap.text), (charset, truth)
            assert snap.language == site.spec.language
            seen.add(charset.lower().replace("_", "-"))
    assert {"gbk", "koi8-r", "shift-jis"} <= seen


def test_pdf_text_is_extracted(scenario):
    pdfs = 0
    for site in sites():
        for source in sorted((SAMPLE / "pdf-src" / site.city).rglob("*.html")):
            path = "/" + source.relative_to(SAMPLE / "pdf-src" / site.city).with_suffix(".pdf").as_posix()
            snap = snapshot_of(scenario["database"], scenario["urls"][site.city] + path)
            if snap is None:  # a PDF no page or sitemap leads to is not crawled
                continue
            heading = lxml.html.parse(str(source)).getroot().findtext(".//h1") or ""
            assert snap.meta["kind"] == "pdf" and snap.content_type == "application/pdf"
            assert squash(heading)[:20] in squash(snap.text), (path, heading)
            pdfs += 1
    assert pdfs >= len(G20) - 1


def test_failures_are_recorded_with_their_reasons(scenario):
    crawl_id = scenario["runs"]["first"]["crawl"]
    recorded = by_url(scenario["database"], crawl_id)
    expected = 0
    for site in sites():
        base, routes = scenario["urls"][site.city], site.spec.routes
        for path in routes.oversized:
            assert recorded[base + path].outcome == "failed" and recorded[base + path].reason.startswith("oversized")
            expected += 1
        for path in routes.slow:
            assert recorded[base + path].reason.startswith("timed out after 3.0 s (2 attempts)")
            expected += 1
        for path, status in routes.errors.items():
            assert recorded[base + path].status == status and f"HTTP {status}" in recorded[base + path].reason
            expected += 1
        for path, target in routes.redirects.items():
            fetch = recorded[base + path]
            assert fetch.outcome == "redirected" and fetch.reason == f"301 redirect to {base + target}"
            with session_scope(scenario["database"]) as s:
                old, new = (s.scalars(select(Page).where(Page.url == base + p)).one() for p in (path, target))
                assert old.document_id == new.document_id is not None  # one document, two URLs
            expected += 1
        broken = [f for f in recorded.values() if f.city == site.city and f.status == 404]
        assert broken and all(f.reason == "HTTP 404 Not Found" and site.file(urlsplit(f.url).path) is None
                              for f in broken)
    assert expected >= 6


def test_sitemap_only_pages_are_found(scenario):
    recorded = by_url(scenario["database"], scenario["runs"]["first"]["crawl"])
    for site in sites():
        sitemap = site.file("/sitemap.xml").read_text(encoding="utf-8")
        listed = {scenario["urls"][site.city] + p for p in re.findall(r"<loc>\s*(/[^<\s]*)", sitemap)}
        missing = [u for u in listed if u not in recorded]
        assert not missing, f"{site.city}: sitemap pages not crawled: {missing}"


def test_languages_are_declared_or_identified(scenario):
    with session_scope(scenario["database"]) as s:
        rows = s.execute(select(Page.city, Snapshot.language).join(Snapshot, Page.snapshot_id == Snapshot.id)).all()
    spec = {site.city: site.spec.language for site in sites()}
    for city, language in rows:
        assert language, city
    for city in G20:
        languages = [lang for c, lang in rows if c == city]
        assert languages.count(spec[city]) >= 0.8 * len(languages), (city, languages)


# --- re-crawls ------------------------------------------------------------------------------------

def test_recrawl_of_unchanged_sample_is_conditional_and_makes_no_snapshot(scenario):
    first, again = scenario["runs"]["first"], scenario["runs"]["again"]
    assert again["state"] == "finished" and again["crawl"] != first["crawl"]
    assert again["new_snapshots"] == 0
    snapshotted = {f.url for f in fetches(scenario["database"], first["crawl"]) if f.snapshot_id}
    again_fetches = by_url(scenario["database"], again["crawl"])
    assert {u for u, f in again_fetches.items() if f.outcome == "not-modified"} == snapshotted
    not_modified = [h for h in scenario["hits"]["again"] if h.status == 304]
    assert len(not_modified) == len(snapshotted) and all(h.conditional for h in not_modified)


def test_v2_makes_new_snapshots_only_for_changed_pages(scenario):
    v2 = scenario["runs"]["v2"]
    assert v2["state"] == "finished"
    changed, overlaid = set(), set()
    for site in sites(version="v2"):
        overlay = site.roots[0] if len(site.roots) > 1 else None
        for file in (overlay.rglob("*") if overlay else []):
            path = "/" + file.relative_to(overlay).as_posix()
            if file.suffix not in (".html", ".pdf"):
                continue
            overlaid.add(scenario["urls"][site.city] + path)
            original = SAMPLE / "sites" / site.city / path.lstrip("/")
            new_text = extract(file.read_bytes(), "text/html" if file.suffix == ".html" else "application/pdf", path).text
            if not original.exists() or extract(original.read_bytes(), None, path).text != new_text:
                changed.add(scenario["urls"][site.city] + path)
    assert changed, "the v2 overlay should change some page's text"
    recorded = fetches(scenario["database"], v2["crawl"])
    assert {f.url for f in recorded if f.outcome == "new-snapshot"} == changed
    touched = {f.url for f in recorded if f.outcome == "unchanged"}  # new bytes, same text (a footer date)
    assert touched <= overlaid - changed
    assert all(f.outcome in ("not-modified", "unchanged", "new-snapshot") for f in recorded if f.snapshot_id)


def test_documents_commands_show_list_and_diff_the_change(scenario):
    data_dir, database = scenario["data_dir"], scenario["database"]
    v2 = fetches(database, scenario["runs"]["v2"]["crawl"])
    changed = next(f.url for f in v2 if f.outcome == "new-snapshot" and urlsplit(f.url).path == "/noticias/index.html")
    out = evidence("documents", "diff", changed, "--json", data_dir=data_dir, database=database)
    assert out.returncode == 0, out.stderr
    diff = json.loads(out.stdout)
    new_page = snapshot_of(database, changed.replace("/noticias/index.html", "/noticias/2023-06-5g-todos-distritos.html"))
    added = [line[1:] for line in diff["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added and any(squash(line) in squash(new_page.text) or squash(new_page.title) in squash(line)
                         for line in added)
    assert diff["from"]["id"] < diff["to"]["id"] and len(diff["versions"]) == 2
    listing = json.loads(evidence("documents", "list", "--city", "sao-paulo", "--json",
                                  data_dir=data_dir, database=database).stdout)
    entry = next(d for d in listing if changed in d["urls"])
    assert entry["snapshots"] == 2
    shown = json.loads(evidence("documents", "show", changed, "--json", data_dir=data_dir, database=database).stdout)
    assert shown["id"] == entry["id"] and [s["id"] for s in shown["snapshots"]] == [diff["from"]["id"], diff["to"]["id"]]
    table = evidence("documents", "diff", changed, data_dir=data_dir, database=database)
    assert "2023-06-5g-todos-distritos" in table.stdout or "5G" in table.stdout


def test_no_snapshot_is_stored_twice_and_raw_bytes_are_content_addressed(scenario):
    with session_scope(scenario["database"]) as s:
        dupes = s.execute(select(Snapshot.document_id, Snapshot.text_sha256, func.count())
                          .group_by(Snapshot.document_id, Snapshot.text_sha256).having(func.count() > 1)).all()
        assert dupes == []
        snaps = s.scalars(select(Snapshot)).all()
        assert s.scalar(select(func.count(Document.id))) <= len(snaps)
        assert all(s.get(Crawl, r["crawl"]).state == "finished" for r in scenario["runs"].values())
    import hashlib

    for snap in snaps[:40]:
        raw = scenario["data_dir"] / "raw" / snap.raw_sha256[:2] / snap.raw_sha256
        assert hashlib.sha256(raw.read_bytes()).hexdigest() == snap.raw_sha256


# --- arab-2024 on PostgreSQL: the Arabic sample, a broken site, a refused source, a dead port ----------------

def _broken_site(root: Path) -> None:
    """A small site of everything that goes wrong on real portals and is not in the bundled sample."""
    site = root / "sites" / "riyadh"
    (site / "files").mkdir(parents=True)
    (site / "data").mkdir()
    (site / "site.yaml").write_text(
        "city: riyadh\nedition: arab-2024\nname: test portal\nlanguage: ar\nstart: /index.html\n"
        "routes:\n  redirects: {'/loop/a.html': '/loop/b.html', '/loop/b.html': '/loop/a.html'}\n"
        "  truncated: ['/cut.html']\n", encoding="utf-8")
    page = "<html lang='ar'><head><meta charset='utf-8'><title>{0}</title></head><body><h1>{0}</h1><p>{1}</p></body></html>"
    body = "تعلن الأمانة عن استكمال ربط جميع المراكز البلدية بمنظومة الشكاوى الموحدة. " * 8
    links = ["/loop/a.html", "/cut.html", "/files/broken.pdf", "/data/feed.json", "/copy-1.html", "/copy-2.html"]
    index = page.format("الرئيسية", body).replace("</body>", "".join(f"<a href='{u}'>{u}</a>" for u in links) + "</body>")
    (site / "index.html").write_text(index, encoding="utf-8")
    for name in ("copy-1.html", "copy-2.html"):
        (site / name).write_text(page.format("منظومة الشكاوى", body), encoding="utf-8")
    (site / "cut.html").write_text(page.format("بيان", body), encoding="utf-8")
    (site / "files" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%truncated")
    (site / "data" / "feed.json").write_text('{"items": []}', encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL database of the module's own (conftest's database_url is per test; this crawl is shared)."""
    name = f"evidence_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    # with a password (trust auth ignores it): the crawl must hand it to its process without writing it down
    yield make_url(POSTGRES.rsplit("/", 1)[0] + f"/{name}").set(password=PASSWORD).render_as_string(hide_password=False)
    open_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def arab(server, postgres, tmp_path_factory):
    """One arab-2024 crawl on PostgreSQL: the sample's Cairo and Dubai, a broken site standing in for Riyadh, a
    Cairo source on loopback that does not allow it, and a Dubai source on a port nobody listens on."""
    import socket

    home = tmp_path_factory.mktemp("arab")
    _broken_site(home / "tree")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with SampleServer(root=home / "tree") as broken:
        real = [s for s in server.sources() if s["city"] in ("cairo", "dubai")]
        refused = {**next(s for s in server.sources() if s["city"] == "shanghai"), "city": "cairo",
                   "allow_private": False}
        dead = {"city": "dubai", "url": f"http://127.0.0.1:{closed}/", "kind": "portal", "provenance": "test",
                "allow_private": True}
        (home / "sources.yaml").write_text(json.dumps({"sources": real + broken.sources() + [refused, dead]}),
                                           encoding="utf-8")
        shanghai_hits = server.count(city="shanghai")
        summary = crawl("--edition", "arab-2024", data_dir=home / "data", database=postgres,
                        sources=home / "sources.yaml")
        assert server.count(city="shanghai") == shanghai_hits, "a refused source gets no request, not even robots.txt"
        return {"summary": summary, "database": postgres, "data_dir": home / "data", "broken": broken.urls["riyadh"],
                "refused": refused["url"], "dead": dead["url"]}


def test_the_database_password_is_not_written_to_the_crawl_plan(arab):
    assert arab["summary"]["state"] == "finished"  # the crawl process got the URL, password and all
    plan = arab["data_dir"] / "crawls" / f"crawl-{arab['summary']['crawl']}" / "plan.json"
    written = plan.read_text(encoding="utf-8")
    assert json.loads(written)["crawl_id"] == arab["summary"]["crawl"]
    assert PASSWORD not in written and "postgresql" not in written


def test_arab_sample_decodes_windows_1256_and_arabic_pdfs(server, arab):
    database = arab["database"]
    assert arab["summary"]["state"] == "finished" and set(arab["summary"]["cities"]) == {"cairo", "dubai", "riyadh"}
    recorded = by_url(database, arab["summary"]["crawl"])
    charsets = 0
    for site in sites(["cairo", "dubai"]):
        base = server.urls[site.city]
        for path, charset in site.spec.routes.charsets.items():
            paragraphs = lxml.html.document_fromstring(site.file(path).read_bytes().decode(charset)).iter("p")
            truth = max((p.text_content() for p in paragraphs), key=len)
            snap = snapshot_of(database, base + path)
            assert squash(truth)[:60] in squash(snap.text) and snap.language == "ar" and snap.charset == "cp1256"
            charsets += 1
        for path, status in site.spec.routes.errors.items():
            assert recorded[base + path].reason.startswith(f"HTTP {status}")
    assert charsets >= 1
    with session_scope(database) as s:
        pdfs = s.scalars(select(Snapshot).where(Snapshot.content_type == "application/pdf")).all()
    arabic = [p for p in pdfs if p.language == "ar"]
    assert arabic and all(re.search("[\u0627-\u064a]{4,}", p.text) for p in arabic)
    assert not any("\ufe70" <= ch <= "\ufeff" for p in arabic for ch in p.text[:2000])  # no presentation forms


def test_loopback_is_refused_unless_the_source_allows_it(arab):
    [fetch] = [f for f in fetches(arab["database"], arab["summary"]["crawl"]) if f.url == arab["refused"]]
    host = urlsplit(arab["refused"]).hostname
    assert fetch.outcome == "refused" and fetch.city == "cairo"
    assert fetch.reason == f"{host} resolves to loopback address {host}; the source does not allow private addresses"


def test_failures_are_data_and_the_crawl_goes_on(arab):
    recorded, base = by_url(arab["database"], arab["summary"]["crawl"]), arab["broken"]
    reason = {urlsplit(u).path if u.startswith(base) else u: f.reason for u, f in recorded.items()}
    assert reason["/loop/a.html"].startswith("redirect loop: ") and reason["/loop/a.html"].count("/loop/a.html") == 2
    assert reason["/cut.html"].startswith("truncated body")
    assert reason["/files/broken.pdf"].startswith("corrupt PDF")
    assert reason["/data/feed.json"] == "unsupported content type application/json"
    assert reason[arab["dead"]] == "connection refused (2 attempts)"
    copies = [recorded[base + p] for p in ("/copy-1.html", "/copy-2.html")]
    assert sorted(f.outcome for f in copies) == ["duplicate", "new-snapshot"]
    assert copies[0].snapshot_id == copies[1].snapshot_id  # same content at two URLs: one document
    assert recorded[base + "/index.html"].outcome == "new-snapshot"
    listing = json.loads(evidence("documents", "list", "--city", "riyadh", "--json", data_dir=arab["data_dir"],
                                  database=arab["database"]).stdout)
    assert sorted(len(d["urls"]) for d in listing) == [1, 2]


def test_killed_and_paused_crawls_resume_without_refetching(server, tmp_path):
    database, data_dir = f"sqlite:///{tmp_path / 'evidence.db'}", tmp_path / "data"
    sources = server.write_sources(tmp_path / "sources.yaml")
    scope = ["--edition", "g20-2023", "--city", "shanghai", "--city", "tokyo", "--city", "moscow"]
    hits_before = len(server.hits)
    paused = crawl(*scope, "--max-pages", "6", data_dir=data_dir, database=database, sources=sources)
    assert paused["state"] == "paused" and paused["fetches"] == 6
    assert (data_dir / "crawls" / f"crawl-{paused['crawl']}" / "jobdir").is_dir()  # Scrapy's queue, kept

    env = {**os.environ, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_DATABASE_URL": database}
    slow = [*FAST, "--delay", "0.2", "--concurrency", "1"]
    child = subprocess.Popen([EVIDENCE, "crawl", "--sources", str(sources), *scope, *slow, "--json"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    engine = create_engine(database)
    try:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.scalar(text("select count(*) from fetches"))
            if done >= 12:
                break
            time.sleep(0.05)
        os.killpg(child.pid, 9)  # SIGKILL: no goodbye, no flushing, no clean Scrapy shutdown
        child.wait()
        hits_at_kill = len(server.hits)
    finally:
        engine.dispose()
    with session_scope(database) as s:
        killed = s.get(Crawl, paused["crawl"])
        assert killed.state == "running"  # what a kill leaves behind
        before = set(s.scalars(select(Fetch.url).where(Fetch.crawl_id == killed.id)))
    assert len(before) >= 12

    final = crawl(*scope, data_dir=data_dir, database=database, sources=sources)
    assert final["crawl"] == paused["crawl"] and final["state"] == "finished"
    later = {server.urls[h.city] + h.path for h in server.hits[hits_at_kill:]}
    assert not later & before, "a page finished before the kill was fetched again"
    with session_scope(database) as s:
        per_url = s.execute(select(Fetch.url, func.count()).where(Fetch.crawl_id == final["crawl"])
                            .group_by(Fetch.url)).all()
        assert per_url and all(n == 1 for _, n in per_url), [u for u, n in per_url if n > 1]
        assert len(per_url) > len(before)
        dupes = s.execute(select(Snapshot.document_id, Snapshot.text_sha256, func.count())
                          .group_by(Snapshot.document_id, Snapshot.text_sha256).having(func.count() > 1)).all()
        assert dupes == []
        recorded = {u for u, _ in per_url}
        for page in s.scalars(select(Page).where(Page.snapshot_id.is_not(None))):
            pages = {link for link in page.links if not link.endswith(".xml")}  # sitemaps are read, not recorded
            assert pages <= recorded, f"links of {page.url} were lost in the resume"
    for site in sites(["shanghai", "tokyo", "moscow"]):
        listed = re.findall(r"<loc>\s*(/[^<\s]*)", site.file("/sitemap.xml").read_text(encoding="utf-8"))
        assert {server.urls[site.city] + p for p in listed} <= recorded
        # a resumed run starts with a burst of requests per host: robots.txt must hold for every one
        robots = Protego.parse(site.file("/robots.txt").read_text(encoding="utf-8"))
        forbidden = [h.path for h in server.hits[hits_before:] if h.city == site.city
                     and not robots.can_fetch(f"http://x{h.path}", "evidence-collector")]
        assert forbidden == []
