"""The user's registry folder by command: `cities add`, `sources add` and `sources import` accept what the YAML
loader accepts and fail with its errors; a seed stays one document through a crawl and every watch pass."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from evidence.database import session_scope
from evidence.errors import DataErrors, EvidenceError
from evidence.record import Fetch, SourceRow
from evidence.settings import CrawlLimits, Settings
from sources import load_registry
from watch.passes import run_pass

HARBOUR = ["test-harbour", "--country", "OM", "--en", "Test Harbour", "--zh", "测试港", "--local", "ميناء",
           "--languages", "ar,en", "--editions", "arab-2024"]
WORDS = "The municipality publishes its services and plans for residents. " * 12


def page(title: str, links: list[str]) -> str:
    anchors = "".join(f'<p><a href="{link}">{link}</a></p>' for link in links)
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{title}: {WORDS}</p>{anchors}</body></html>"


@pytest.fixture
def site(tmp_path):
    """A loopback site: a seed page and a list page linking to pages that link further, and a sitemap
    naming every page (which a seed must not read)."""
    root = tmp_path / "site"
    root.mkdir()
    pages = {"seed.html": ["a.html", "b.html"], "list.html": ["a.html", "b.html"], "a.html": ["deep.html"],
             "b.html": [], "deep.html": []}
    for name, links in pages.items():
        (root / name).write_text(page(name.removesuffix(".html").title(), links), encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (root / "sitemap.xml").write_text('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                      + "".join(f"<url><loc>{base}/{n}</loc></url>" for n in pages) + "</urlset>",
                                      encoding="utf-8")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    registry = tmp_path / "registry"
    registry.mkdir()
    values = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
              "EVIDENCE_REGISTRY_DIRS": json.dumps([str(registry)]), "EVIDENCE_CRAWL_DELAY": "0"}
    monkeypatch.chdir(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def fetched(database: str) -> set[str]:
    with session_scope(database) as s:
        return {u.rsplit("/", 1)[1] for u in s.scalars(select(Fetch.url))}


def test_a_seed_stays_one_document_through_crawl_and_watch(site, env, tmp_path):
    assert invoke("cities", "add", *HARBOUR).exit_code == 0
    added = invoke("sources", "add", "test-harbour", f"{site}/seed.html", "--kind", "seed", "--allow-private",
                   "--provenance", "a loopback test page")
    assert added.exit_code == 0, added.output
    crawl = invoke("crawl", "--edition", "arab-2024", "--city", "test-harbour", "--json")
    assert crawl.exit_code == 0, crawl.output
    database = env["EVIDENCE_DATABASE_URL"]
    assert fetched(database) == {"seed.html"}  # not its links, not the sitemap's pages
    settings = Settings(data_dir=tmp_path / "data", database_url=database)
    limits = CrawlLimits(delay=0.0, timeout=3.0, retries=0)  # the run's default depth is 6: the seed ignores it
    for _ in range(2):
        run_pass(settings, everything=True, limits=limits, notify=False)
    with session_scope(database) as s:
        fetches = s.scalars(select(Fetch.url)).all()
        assert {f.rsplit("/", 1)[1] for f in fetches} == {"seed.html"} and len(fetches) == 3
        assert s.scalars(select(SourceRow.kind)).all() == ["seed"]


def test_a_list_page_is_itself_and_its_links_within_its_budget_in_watch_too(site, env, tmp_path):
    assert invoke("cities", "add", *HARBOUR).exit_code == 0
    added = invoke("sources", "add", "test-harbour", f"{site}/list.html", "--kind", "list", "--pages", "2",
                   "--allow-private", "--provenance", "a loopback list of documents")
    assert added.exit_code == 0, added.output
    assert invoke("crawl", "--edition", "arab-2024", "--city", "test-harbour", "--json").exit_code == 0
    database = env["EVIDENCE_DATABASE_URL"]
    first = fetched(database)
    assert "list.html" in first and len(first) == 2 and "deep.html" not in first  # depth 1, budget 2 pages
    run_pass(Settings(data_dir=tmp_path / "data", database_url=database), everything=True,
             limits=CrawlLimits(delay=0.0, timeout=3.0, retries=0, source_pages=50), notify=False)
    assert fetched(database) == first


def test_sources_add_fails_as_the_yaml_loader_does_and_writes_nothing(env, tmp_path):
    registry = tmp_path / "registry"
    bad_depth = invoke("sources", "add", "riyadh", "https://www.alriyadh.gov.sa/x.pdf", "--kind", "seed",
                       "--depth", "2", "--provenance", "the municipality's plan")
    assert isinstance(bad_depth.exception, DataErrors)
    assert f"{registry / 'sa.yaml'}: sources.riyadh[0]: Value error, a seed is one document: depth must be 0" \
        in str(bad_depth.exception)
    no_provenance = invoke("sources", "add", "riyadh", "https://www.alriyadh.gov.sa/plan.pdf", "--kind", "leaflet")
    problems = str(no_provenance.exception)
    assert "sources.riyadh[0].kind: Input should be 'portal', 'seed' or 'list'" in problems
    assert "sources.riyadh[0].provenance: Field required" in problems
    assert not list(registry.iterdir())  # nothing written
    # the same content written by hand gives the same error when the registry loads
    (registry / "sa.yaml").write_text(yaml.safe_dump({"country": "SA", "sources": {"riyadh": [
        {"url": "https://www.alriyadh.gov.sa/plan.pdf", "kind": "leaflet"}]}}), encoding="utf-8")
    with pytest.raises(DataErrors) as by_hand:
        load_registry()
    assert [str(e) for e in by_hand.value.errors] == [str(e) for e in no_provenance.exception.errors]


def test_sources_add_and_cities_add_write_a_registry_that_loads(env, tmp_path):
    assert invoke("sources", "add", "riyadh", "https://www.alriyadh.gov.sa/plan.pdf", "--kind", "seed",
                  "--provenance", "the municipality's plan").exit_code == 0
    assert invoke("cities", "add", *HARBOUR).exit_code == 0
    again = invoke("cities", "add", *HARBOUR)
    assert "city test-harbour: id already used in om.yaml" in str(again.exception)
    twice = invoke("sources", "add", "riyadh", "https://www.alriyadh.gov.sa/plan.pdf", "--kind", "seed",
                   "--provenance", "again")
    assert "sources.riyadh[1].url: https://www.alriyadh.gov.sa/plan.pdf is already a source of riyadh" \
        in str(twice.exception)
    registry = load_registry()
    riyadh = registry.get("riyadh")
    assert riyadh.sources[-1].kind == "seed" and riyadh.sources[-1].url.endswith("plan.pdf")
    assert registry.get("test-harbour").name.local == "ميناء"
    assert sorted(p.name for p in (tmp_path / "registry").glob("*.yaml")) == ["om.yaml", "sa.yaml"]


def test_without_a_user_folder_the_commands_say_which_setting(env, monkeypatch):
    monkeypatch.setenv("EVIDENCE_REGISTRY_DIRS", "[]")
    result = invoke("sources", "add", "riyadh", "https://www.alriyadh.gov.sa/", "--provenance", "x")
    assert isinstance(result.exception, EvidenceError) and "set EVIDENCE_REGISTRY_DIRS" in str(result.exception)


def test_an_import_with_one_bad_row_is_rejected_whole_naming_row_and_field(env, tmp_path):
    good = "riyadh,https://www.alriyadh.gov.sa/a.pdf,seed,,the plan\n"
    listing = tmp_path / "list.csv"
    listing.write_text("city,url,kind,depth,provenance\n" + good
                       + "jeddah,https://www.jeddah.gov.sa/docs,list,-1,the documents page\n"
                       + "atlantis,https://atlantis.example/,portal,,nowhere\n", encoding="utf-8")
    result = invoke("sources", "import", str(listing))
    problems = [str(e) for e in result.exception.errors]
    assert problems == [f"{listing}: line 3.depth: Input should be greater than or equal to 0",
                        f"{listing}: line 4.city: no city 'atlantis' in the registry (add it with `evidence cities add`)"]
    assert not list((tmp_path / "registry").iterdir())
    listing.write_text("city,url,kind,depth,provenance,allowed_domains\n" + good
                       + "jeddah,https://www.jeddah.gov.sa/docs,list,1,the documents page,jeddah.gov.sa;jed.gov.sa\n",
                       encoding="utf-8")
    assert invoke("sources", "import", str(listing)).exit_code == 0
    jeddah = load_registry().get("jeddah").sources[-1]
    assert (jeddah.kind, jeddah.depth, jeddah.allowed_domains) == ("list", 1, ["jeddah.gov.sa", "jed.gov.sa"])
    as_yaml = tmp_path / "more.yaml"
    as_yaml.write_text(yaml.safe_dump({"sources": [{"city": "dammam", "url": "https://www.eamana.gov.sa/p.pdf",
                                                    "kind": "seed", "provenance": "plan", "pages": 3}]}),
                       encoding="utf-8")
    rejected = invoke("sources", "import", str(as_yaml))
    assert [str(e) for e in rejected.exception.errors] == [
        f"{as_yaml}: sources[0]: Value error, a seed is one document: pages must be 1, got 3"]
