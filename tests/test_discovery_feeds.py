"""Sitemap and feed discovery through trafilatura's own functions, against a loopback site.

trafilatura refuses IP-address hosts and non-public addresses, so the site is reached under a name through a real
loopback SOCKS5 proxy (trafilatura's `http_proxy` support, read when it is imported: hence a child process)."""

from __future__ import annotations

import json
import os
import select
import socket
import socketserver
import struct
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

NAME = "harbour.example"


class Socks5(socketserver.ThreadingTCPServer):
    """A SOCKS5 proxy (no authentication, CONNECT only) that connects every name to 127.0.0.1 on the port asked."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Relay)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Relay(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        methods = client.recv(2)[1]
        client.recv(methods)
        client.sendall(b"\x05\x00")  # no authentication
        _, command, _, kind = client.recv(4)
        if kind == 3:  # a domain name (socks5h): the proxy resolves it, here to loopback
            client.recv(client.recv(1)[0])
        else:
            client.recv(16 if kind == 4 else 4)
        port = struct.unpack("!H", client.recv(2))[0]
        upstream = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + struct.pack("!H", 0))
        if command != 1:
            return
        pair = {client: upstream, upstream: client}
        while True:
            ready, _, _ = select.select(list(pair), [], [], 5)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                pair[sock].sendall(data)


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    base = f"http://{NAME}:{server.server_address[1]}"
    (root / "index.html").write_text(f'<html><head><title>Harbour</title><link rel="alternate" '
                                     f'type="application/rss+xml" href="{base}/feed.xml"></head><body><p>'
                                     + "The harbour city's portal. " * 20 + "</p></body></html>", encoding="utf-8")
    (root / "robots.txt").write_text(f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n", encoding="utf-8")
    (root / "sitemap.xml").write_text('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
                                      f'schemas/sitemap/0.9"><url><loc>{base}/plans/digital-plan-2024.pdf</loc></url>'
                                      f"<url><loc>{base}/services/permits.html</loc></url></urlset>", encoding="utf-8")
    (root / "feed.xml").write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
                                   f"<link>{base}/</link><item><title>5G</title><link>{base}/news/5g-launch.html</link>"
                                   "</item></channel></rss>", encoding="utf-8")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()
    server.server_close()


def evidence(*args, env: dict) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "evidence"), *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_sitemaps_and_feeds_of_a_portal_become_candidates(site, tmp_path):
    proxy = Socks5()
    registry = tmp_path / "registry"
    registry.mkdir()
    env = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
           "EVIDENCE_REGISTRY_DIRS": json.dumps([str(registry)]), "EVIDENCE_CRAWL_DELAY": "0",
           "http_proxy": f"socks5h://127.0.0.1:{proxy.server_address[1]}"}
    try:
        added = evidence("cities", "add", "test-harbour", "--country", "OM", "--en", "Test Harbour", "--zh", "测试港",
                         "--local", "ميناء", "--languages", "ar,en", "--editions", "arab-2024", env=env)
        assert added.returncode == 0, added.stderr
        assert evidence("sources", "add", "test-harbour", f"{site}/", "--provenance", "the test portal",
                        env=env).returncode == 0
        found = evidence("discover", "--edition", "arab-2024", "--city", "test-harbour", "--no-search", "--json",
                         env=env)
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout)["new_candidates"] == {"test-harbour": 3}
        listed = json.loads(evidence("discover", "candidates", "--json", env=env).stdout)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert {(c["engine"], c["url"].removeprefix(site)) for c in listed} == {
        ("sitemap", "/plans/digital-plan-2024.pdf"), ("sitemap", "/services/permits.html"),
        ("feed", "/news/5g-launch.html")}
    assert {c["query"] for c in listed} == {f"{site}/"}  # found from the city's portal
