"""The sample server over real HTTP: hosts, routes, conditional requests, the v2 overlay, the serve command."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from collector.sample import SAMPLE, load_sites, sample_url
from collector.server import SampleServer
from evidence.errors import DataErrors

EVIDENCE = str(Path(sys.executable).with_name("evidence"))


@pytest.fixture(scope="module")
def server():
    with SampleServer(slow_seconds=0.8, oversized_bytes=8 * 1024 * 1024) as running:
        yield running


def get(url: str, headers: dict | None = None, timeout: float = 5) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)  # no redirect following
    conn.request("GET", parts.path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), body


def routed(kind: str):
    """(site, path, value) for every route of that kind in the sample."""
    for site in load_sites():
        value = getattr(site.spec.routes, kind)
        for path in value:
            yield site, path, value[path] if isinstance(value, dict) else None


def test_every_site_has_a_loopback_host_of_its_own(server):
    hosts = {urlsplit(url).hostname for url in server.urls.values()}
    assert len(hosts) == len(server.urls) == len(load_sites()) >= 8
    assert all(h.startswith("127.0.0.") for h in hosts)
    for city, url in server.urls.items():  # the same host the demo's fixed-port URLs name
        assert urlsplit(sample_url(city, "/x.html", port=8800)).hostname == urlsplit(url).hostname
    for source in server.sources():
        assert source["allow_private"] is True
        assert source["allowed_domains"] == [urlsplit(source["url"]).hostname]
        assert get(source["url"])[0] == 200


def test_robots_and_sitemaps_name_the_site_s_own_host(server):
    for city, base in server.urls.items():
        robots = get(base + "/robots.txt")[2].decode()
        assert f"Sitemap: {base}/sitemap.xml" in robots or f"Sitemap: {base}/" in robots
        sitemap = get(base + "/sitemap.xml")[2].decode()
        locs = sitemap.count("<loc>")
        assert locs > 0 and sitemap.count(f"<loc>{base}/") == locs, city


def test_conditional_requests_are_answered_304(server):
    url = server.urls["tokyo"] + "/index.html"
    status, headers, _ = get(url)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    assert get(url, {"If-None-Match": headers["ETag"]})[:3:2] == (304, b"")
    assert get(url, {"If-None-Match": '"something-else"'})[0] == 200
    assert get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(url, {"If-Modified-Since": formatdate(0, usegmt=True)})[0] == 200
    assert server.count(status=304, city="tokyo", path="/index.html") >= 2


def test_routes_behave_as_site_yaml_says(server):
    for site, path, target in routed("redirects"):
        status, headers, _ = get(server.urls[site.city] + path)
        assert status == 301 and headers["Location"] == server.urls[site.city] + target
    for site, path, charset in routed("charsets"):
        status, headers, body = get(server.urls[site.city] + path)
        assert headers["Content-Type"] == f"text/html; charset={charset}"
        assert body == site.file(path).read_bytes()  # the legacy bytes, untouched
        body.decode(charset)
    for site, path, code in routed("errors"):
        assert get(server.urls[site.city] + path)[0] == code
    assert get(server.urls["shanghai"] + "/no/such/page.html")[0] == 404


def test_oversized_responses_stream_without_a_length(server):
    site, path, _ = next(routed("oversized"))
    parts = urlsplit(server.urls[site.city] + path)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", parts.path)
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Length") is None
    received = sum(len(response.read(1 << 20)) for _ in range(6))
    conn.close()
    assert received == 6 << 20


def test_slow_pages_answer_only_after_the_delay(server):
    site, path, _ = next(routed("slow"))
    url = server.urls[site.city] + path
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        urllib.request.urlopen(url, timeout=0.3)
    started = time.monotonic()
    assert urllib.request.urlopen(url, timeout=5).status == 200
    assert time.monotonic() - started >= 0.7


def test_v2_overlay_replaces_and_adds_files(server):
    overlay = SAMPLE / "v2" / "sites"
    files = [f for f in overlay.rglob("*") if f.is_file() and f.name != "site.yaml"]
    assert files, "the sample ships a v2 overlay"
    try:
        for file in files:
            city = file.relative_to(overlay).parts[0]
            path = "/" + file.relative_to(overlay / city).as_posix()
            server.version = "v1"
            before = get(server.urls[city] + path)
            server.version = "v2"
            after = get(server.urls[city] + path)
            original = SAMPLE / "sites" / city / path.lstrip("/")
            assert after[0] == 200
            assert before[0] == (200 if original.exists() else 404)
            if path.endswith(".html"):
                assert after[2] == file.read_bytes() and after[1]["ETag"] != before[1].get("ETag")
    finally:
        server.version = "v1"


def test_a_broken_site_yaml_names_the_file_and_field(tmp_path):
    site = tmp_path / "sites" / "cairo"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text("city: cairo\nedition: arab-2024\nname: x\nlanguage: ar\n"
                                    "routes:\n  teleports: ['/x']\n", encoding="utf-8")
    with pytest.raises(DataErrors) as error:
        load_sites(tmp_path)
    assert f"{site / 'site.yaml'}: routes.teleports: Extra inputs are not permitted" in str(error.value)


def test_sample_serve_command_serves_and_writes_sources(tmp_path):
    out = tmp_path / "sources.yaml"
    env = {**os.environ, "EVIDENCE_DATA_DIR": str(tmp_path / "data")}
    serve = subprocess.Popen([EVIDENCE, "sample", "serve", "--port", "0", "--version", "v2", "--duration", "20",
                              "--sources-out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 15
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        sources = yaml.safe_load(out.read_text(encoding="utf-8"))["sources"]
        sao_paulo = next(s for s in sources if s["city"] == "sao-paulo")
        base = sao_paulo["url"].rsplit("/", 1)[0]
        assert get(base + "/noticias/2023-06-5g-todos-distritos.html")[0] == 200  # v2 only
        assert len(sources) == len(load_sites())
    finally:
        serve.terminate()
        serve.wait(10)
