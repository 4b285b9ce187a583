"""The sample server: every sample site over HTTP on its own loopback address, misbehaving as its site.yaml says.

Real HTTP (the standard library's threading server), so the crawler meets what it meets on the web:
redirects, legacy charsets in the header, an endless body, a server that never answers in time, 5xx, 404,
ETag / Last-Modified with 304 on conditional requests. Use it as a context manager (tests start it on
ephemeral ports) or through `evidence sample serve`.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import sys
import threading
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from collector.sample import SAMPLE, SampleSite, Version, load_sites, loopback_host
from evidence.errors import EvidenceError

ROOT_RELATIVE = re.compile(r"(<loc>\s*|^Sitemap:\s*)(/[^\s<]*)", re.MULTILINE | re.IGNORECASE)
PADDING = b"<!-- " + b"register row " * 5000 + b" -->\n"


@dataclass(frozen=True)
class Served:
    """One request the server answered: what the tests check politeness and conditional fetching on."""

    city: str
    path: str
    status: int
    conditional: bool


class SiteHandler(BaseHTTPRequestHandler):
    server: SiteHTTPServer
    server_version = "SampleGov/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do (every answer says its length or closes)

    def log_message(self, format, *args) -> None:  # the hit log replaces the stderr chatter
        pass

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        sample, city = self.server.sample, self.server.city
        site = sample.site(city)
        path = unquote(urlsplit(self.path).path) or "/"
        routes = site.spec.routes
        conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
        status = self._answer(site, path, routes, body)
        sample.record(Served(city, path, status, conditional))

    def _answer(self, site: SampleSite, path: str, routes, body: bool) -> int:
        if path in routes.redirects:
            return self._send(301, b"", "text/html", extra={"Location": self.server.base_url + routes.redirects[path]})
        if path in routes.errors:
            status = routes.errors[path]
            return self._send(status, _error_page(status), "text/html; charset=utf-8", body=body)
        if path in routes.slow and not self.server.sample.wait_slow():
            return 0  # the server is stopping; the client gave up long ago
        if path in routes.oversized:
            return self._stream_oversized(site.file(path))
        file = site.file(path)
        if file is None:
            return self._send(404, _error_page(404), "text/html; charset=utf-8", body=body)
        data = self._rewritten(path, file.read_bytes())
        etag = f'"{hashlib.sha256(data).hexdigest()[:20]}"'
        modified = file.stat().st_mtime
        validators = {"ETag": etag, "Last-Modified": formatdate(modified, usegmt=True)}
        if self._not_modified(etag, modified):
            return self._send(304, b"", None, extra=validators)
        if path in routes.truncated:
            return self._send_truncated(data, _content_type(path, routes))
        return self._send(200, data, _content_type(path, routes), extra=validators, body=body)

    def _rewritten(self, path: str, data: bytes) -> bytes:
        """robots.txt and sitemaps name root-relative paths; absolute URLs on this host are what crawlers expect."""
        if path not in ("/robots.txt",) and not path.endswith(".xml"):
            return data
        text = data.decode("utf-8")
        return ROOT_RELATIVE.sub(lambda m: m.group(1) + self.server.base_url + m.group(2), text).encode("utf-8")

    def _not_modified(self, etag: str, modified: float) -> bool:
        if "If-None-Match" in self.headers:  # RFC 9110: If-None-Match wins over If-Modified-Since
            return etag in [t.strip() for t in self.headers["If-None-Match"].split(",")]
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return int(modified) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: int, data: bytes, content_type: str | None, extra: dict | None = None,
              body: bool = True) -> int:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and data:
            self._write(data)
        return status

    def _send_truncated(self, data: bytes, content_type: str) -> int:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) * 2))
        self.send_header("Connection", "close")
        self.end_headers()
        self._write(data)
        self.close_connection = True
        return 200

    def _stream_oversized(self, file: Path | None) -> int:
        """No Content-Length and no end in sight: only the crawler's size cap stops this download."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.end_headers()
        self.close_connection = True
        sent, limit = 0, self.server.sample.oversized_bytes
        chunk = file.read_bytes() if file else PADDING
        while sent < limit and self._write(chunk):
            sent += len(chunk)
            chunk = PADDING
        return 200

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False


def _content_type(path: str, routes) -> str:
    if path in routes.charsets:
        return f"text/html; charset={routes.charsets[path]}"
    if path == "/robots.txt":
        return "text/plain; charset=utf-8"
    guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") or guessed.endswith("xml") else guessed


def _error_page(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return f"<!doctype html><title>{status} {phrase}</title><h1>{status} {phrase}</h1>".encode()


class SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sample: SampleServer, city: str):
        super().__init__(address, SiteHandler)
        self.sample, self.city = sample, city
        host, port = self.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"  # an AF_INET server's host is a str

    def handle_error(self, request, client_address) -> None:
        """A crawler hanging up (a cancelled oversized download, a timeout) is normal here, not an error."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class SampleServer:
    """All sites of a sample tree, each on 127.0.0.N (same port for all when one is given, else ephemeral)."""

    def __init__(self, root: Path = SAMPLE, version: Version = "v1", port: int = 0, slow_seconds: float = 30.0,
                 oversized_bytes: int = 256 * 1024 * 1024):
        self.root, self.port = root, port
        self.slow_seconds, self.oversized_bytes = slow_seconds, oversized_bytes
        self.hits: list[Served] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._servers: list[SiteHTTPServer] = []
        self._sites: dict[str, SampleSite] = {}
        self.version = version

    @property
    def version(self) -> Version:
        return self._version

    @version.setter
    def version(self, version: Version) -> None:
        """Switch every site to another version while serving (same hosts, same URLs)."""
        self._sites = {s.city: s for s in load_sites(self.root, version)}
        self._version = version

    def site(self, city: str) -> SampleSite:
        return self._sites[city]

    @property
    def cities(self) -> list[str]:
        return sorted(self._sites)

    def start(self) -> SampleServer:
        for index, city in enumerate(self.cities):
            try:
                server = SiteHTTPServer((loopback_host(index), self.port), self, city)
            except OSError as e:
                self.stop()
                raise EvidenceError(f"cannot serve the sample's {city} site on {loopback_host(index)}:{self.port}: "
                                    f"{e.strerror}; choose another port (--sample-port / --port), or if "
                                    "`evidence sample serve` is running, crawl with --sources "
                                    "<data dir>/sample/sources.yaml") from None
            threading.Thread(target=server.serve_forever, args=(0.05,), name=f"sample-{city}", daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> SampleServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_slow(self) -> bool:
        """Hold a slow answer; False when the server stops meanwhile."""
        return not self._stopping.wait(self.slow_seconds)

    def record(self, hit: Served) -> None:
        with self._lock:
            self.hits.append(hit)

    @property
    def urls(self) -> dict[str, str]:
        """Each city's site root, e.g. {'shanghai': 'http://127.0.0.17:8800'}."""
        return {s.city: s.base_url for s in self._servers}

    def count(self, status: int | None = None, city: str | None = None, path: str = "") -> int:
        """How many requests were answered (with this status, for this city, under this path prefix)."""
        with self._lock:
            return sum(1 for h in self.hits if (status is None or h.status == status)
                       and (city is None or h.city == city) and h.path.startswith(path))

    def sources(self) -> list[dict]:
        """One source per sample city, pointing at its loopback site (the one place loopback is allowed)."""
        out = []
        for city, base in self.urls.items():
            host = urlsplit(base).hostname
            out.append({"city": city, "url": base + self.site(city).spec.start, "kind": "portal",
                        "provenance": f"bundled sample site {city} ({self.version}), served over loopback",
                        "allowed_domains": [host], "allow_private": True})
        return out

    def write_sources(self, path: Path) -> Path:
        """Write the sample's sources in the file format `evidence crawl --sources` reads."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"sources": self.sources()}, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        return path
