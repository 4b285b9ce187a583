"""Cities without a source are listed and a crawl names them, never skipping them in silence."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from typer.testing import CliRunner

from app.cli import app
from sources import load_registry


def test_cities_list_missing_counts_the_cities_without_a_source():
    runner = CliRunner()
    listed = runner.invoke(app, ["cities", "list", "--edition", "arab-2024", "--missing", "--json"])
    missing = json.loads(listed.stdout)
    everyone = load_registry().in_edition("arab-2024")
    assert listed.exit_code == 0 and {c["id"] for c in missing} == {c.id for c in everyone if not c.sources}
    assert all(not c["sources"] for c in missing)
    table = runner.invoke(app, ["cities", "list", "--edition", "arab-2024", "--missing"])
    assert f"{len(missing)} of {len(everyone)} cities have no source" in table.output


def test_a_crawl_names_the_cities_it_has_no_source_for(tmp_path, monkeypatch):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<html><head><title>Portal</title></head><body><p>"
                                                  + "The city portal lists every service. " * 20 + "</p></body></html>",
                                                  encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    registry = tmp_path / "registry"
    registry.mkdir()
    port = server.server_address[1]
    (registry / "xx.yaml").write_text(
        "country: OM\ncities:\n"
        "  - id: test-harbour\n    name: {en: Test Harbour, zh: 测试港, local: Test Harbour}\n"
        "    languages: [en]\n    editions: [arab-2024]\n"
        f"    sources:\n      - {{url: 'http://127.0.0.1:{port}/index.html', kind: seed, allow_private: true,"
        " provenance: a loopback test site}\n"
        "  - id: test-oasis\n    name: {en: Test Oasis, zh: 测试绿洲, local: Test Oasis}\n"
        "    languages: [ar]\n    editions: [arab-2024]\n", encoding="utf-8")
    env = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
           "EVIDENCE_REGISTRY_DIRS": json.dumps([str(registry)]), "EVIDENCE_CRAWL_DELAY": "0"}
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    try:
        shown = runner.invoke(app, ["crawl", "--edition", "arab-2024", "--city", "test-harbour", "--city", "test-oasis",
                                    "--depth", "0"], env=env)
        quiet = runner.invoke(app, ["crawl", "--edition", "arab-2024", "--city", "test-harbour", "--city", "test-oasis",
                                    "--depth", "0", "--json", "--restart"], env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert shown.exit_code == 0, shown.output
    assert "1 of 2 cities have no source to crawl" in shown.output and "test-oasis" in shown.output
    assert json.loads(quiet.stdout)["cities_without_sources"] == ["test-oasis"]


def test_an_edition_whose_registry_is_short_of_the_ranking_says_so():
    from typer.testing import CliRunner

    from app.cli import app

    asia = CliRunner().invoke(app, ["cities", "list", "--edition", "asia-2023"])
    assert "asia-2023 is incomplete: 85 of the ranking's 144 cities" in " ".join(asia.output.split())
    g20 = CliRunner().invoke(app, ["cities", "list", "--edition", "g20-2023"])
    assert "incomplete" not in g20.output, "all 184 of the G20 ranking are registered"
