"""The spider: from each source's start page and sitemaps, every in-scope page, recorded as a FetchResult.

Scrapy does the politeness (robots.txt, per-host slots, AutoThrottle), retries, redirects, timeouts and
size caps; this class decides what to follow and turns responses and failures into results.
"""

from __future__ import annotations

from collections import Counter, deque
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from scrapy import Request, signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from collector import runs
from collector.extract import ExtractionError
from collector.middlewares import AlreadyFetched, RefusedRequest, in_domains
from collector.ocr import OcrLimits
from collector.office import EXTENSIONS
from collector.pipeline import Recorder, emit
from collector.snapshots import FetchResult
from collector.workers import ExtractionLost, ExtractionPool, ExtractionTooLong
from evidence.database import session_scope

DOCUMENT_EXTENSIONS = {"pdf", *EXTENSIONS}  # followed although Scrapy skips them by default
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit
OCR_SHARE = 0.8  # of the per-document deadline, what OCR may use (rendering and recording the rest)


class EvidenceSpider(scrapy.Spider):
    name = "evidence"

    def __init__(self, plan: dict, **kwargs):
        super().__init__(**kwargs)
        self.plan = plan
        self.sources: list[dict] = plan["sources"]
        self.limits: dict = plan["limits"]
        self.recorder = Recorder(plan["database"], Path(plan["data_dir"]), plan["crawl_id"])
        with session_scope(plan["database"]) as session:
            self.fetched_before = runs.fetched_in(session, plan["crawl_id"])
            self.known = runs.known_pages(session, sorted({s["city"] for s in self.sources}))
        self.requested: set[str] = set()
        self.depths: dict[str, int] = {}  # the shortest depth each URL was reached at
        self.sitemaps: set[str] = set()
        self.budget_hit = False
        self.taken: Counter[str] = Counter()  # pages of each source (by start URL) fetched or queued in this run
        # what Scrapy's LinkExtractor leaves out (images, archives, media), less the documents we read
        self.skipped_extensions = tuple("." + e for e in IGNORED_EXTENSIONS if e not in DOCUMENT_EXTENSIONS)
        self.extractor = ExtractionPool(seconds=self.limits["extract_seconds"], max_chars=self.limits["max_text_chars"],
                                        ocr=OcrLimits(self.limits["ocr_pages"], ocr_seconds(self.limits)))

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

    def sources_of_host(self, host: str) -> list[dict]:
        return [s for s in self.sources if in_domains(host, s["allowed_domains"])]

    # --- what to fetch ---------------------------------------------------------------------------

    async def start(self):
        from twisted.internet.task import LoopingCall  # after Scrapy has installed its reactor

        self.committer = LoopingCall(self.recorder.flush, idle=True)
        self.committer.start(1.0, now=False)
        emit({"event": "started", "crawl": self.plan["crawl_id"], "resumed_pages": len(self.fetched_before)}, now=True)
        for source in self.sources:
            for request in self.follow(source, source["url"], 0):
                yield request
            if not source["sitemaps"]:  # a seed or a list page: what it names, not the rest of the site
                continue
            root = "{0.scheme}://{0.netloc}".format(urlsplit(source["url"]))
            yield Request(root + "/robots.txt", callback=self.parse_robots, errback=self.robots_failed,
                          meta={"source": source, "dont_obey_robotstxt": True}, dont_filter=True, priority=10)

    def follow(self, source: dict, url: str, depth: int):
        """Requests for a URL if it is in scope and new. A page this run already recorded is not fetched
        again: its stored links are followed instead, breadth first, so every page gets its shortest depth."""
        queue = deque([(url, depth)])
        while queue:
            url, depth = queue.popleft()
            url = urldefrag(url)[0]
            if depth > source["depth"] or not in_domains(urlsplit(url).hostname, source["allowed_domains"]):
                continue
            known = self.depths.get(url)
            if known is None and url not in self.sitemaps and not self._within_budget(source):
                continue
            self.depths[url] = depth if known is None else min(known, depth)
            if url in self.fetched_before:
                if known is None or depth < known:  # again when reached by a shorter path
                    queue.extend((link, depth + 1) for link in self.fetched_before[url])
                continue
            if url in self.requested or url in self.sitemaps:
                continue
            if self.limits["max_pages"] is not None and len(self.requested) >= self.limits["max_pages"]:
                self.budget_hit = True
                continue
            self.requested.add(url)
            emit({"event": "queued", "url": url})
            yield Request(url, callback=self.parse_page, errback=self.page_failed, priority=-depth,  # breadth first
                          meta={"source": source, "depth": depth, "page": True, "handle_httpstatus_list": [304]})

    def _within_budget(self, source: dict) -> bool:
        """Counts one more page of the source, or says (once) that it has had its pages for this run."""
        self.taken[source["url"]] += 1
        if self.taken[source["url"]] == source["pages"] + 1:
            emit({"event": "budget", "city": source["city"], "url": source["url"], "pages": source["pages"]})
        return self.taken[source["url"]] <= source["pages"]

    def parse_robots(self, response):
        source = response.meta["source"]
        sitemaps = sitemap_urls_from_robots(response.body, base_url=response.url) or [urljoin(response.url, "/sitemap.xml")]
        for url in sitemaps:
            yield from self._sitemap_request(source, url)

    def robots_failed(self, failure):
        source = failure.request.meta["source"]
        yield from self._sitemap_request(source, urljoin(failure.request.url, "/sitemap.xml"))

    def _sitemap_request(self, source: dict, url: str, level: int = 0):
        """Sitemaps are read each run (never filtered as seen), once per run, and never as pages."""
        if url not in self.sitemaps:
            self.sitemaps.add(url)
            yield Request(url, callback=self.parse_sitemap, errback=self.sitemap_failed, priority=5,
                          meta={"source": source, "sitemap_level": level}, dont_filter=True)

    def sitemap_failed(self, failure):
        self.logger.info("no sitemap at %s: %s", failure.request.url, failure.value)

    def parse_sitemap(self, response):
        yield from self._sitemap_entries(response.meta["source"], response.body, response.meta["sitemap_level"])

    def _sitemap_entries(self, source: dict, body: bytes, level: int):
        try:
            if body[:2] == b"\x1f\x8b":
                body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
            sitemap = Sitemap(body)
        except Exception:  # not XML, or a gzip bomb: nothing to learn from it
            return
        for entry in sitemap:
            if sitemap.type == "sitemapindex" and level < 3:
                yield from self._sitemap_request(source, entry["loc"], level + 1)
            elif sitemap.type == "urlset":
                yield from self.follow(source, entry["loc"], 1)

    # --- what was fetched ------------------------------------------------------------------------

    async def parse_page(self, response):
        source = response.meta["source"]
        depth = self.depths.get(response.request.url, response.meta["depth"])  # a shorter path may have turned up
        if _is_sitemap(response):  # a footer's "site map" link: read it as what it is, not as a page
            emit({"event": "skipped", "url": response.url})
            self.sitemaps.add(response.url)
            for request in self._sitemap_entries(source, response.body, 0):
                yield request
            return
        if response.status == 304:
            links = self.known.get(response.url, {}).get("links", [])
            yield self._result(response.request, "not-modified", status=304)
        else:
            links, result = await self._fetched(response, source)
            yield result
        for item in self._redirects(response.request, response.url):
            yield item
        for link in links:
            for request in self.follow(source, link, depth + 1):
                yield request

    async def _fetched(self, response, source: dict) -> tuple[list[str], FetchResult]:
        content_type = _header(response, "Content-Type")
        try:
            extraction = await self.extractor.extract(response.body, content_type, response.url,
                                                      _header(response, "Content-Language"),
                                                      tuple(source.get("languages", ())))
        except (ExtractionError, ExtractionTooLong) as e:
            return [], self._result(response.request, "failed", status=response.status, reason=str(e), url=response.url)
        except ExtractionLost as e:
            return [], self._result(response.request, "lost", status=response.status, reason=str(e), url=response.url)
        links = sorted({urldefrag(link)[0] for link in extraction.links if self._followable(link, source)})
        return links, self._result(response.request, "fetched", url=response.url, status=response.status,
                                   body=response.body, content_type=content_type, extraction=extraction,
                                   etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"),
                                   links=links)

    def _followable(self, link: str, source: dict) -> bool:
        parts = urlsplit(link)
        return (in_domains(parts.hostname, source["allowed_domains"])
                and not parts.path.lower().endswith(self.skipped_extensions))

    def page_failed(self, failure):
        request = failure.request
        if failure.check(AlreadyFetched):
            yield from self._redirects(request, request.url)
            return
        outcome, status, reason = describe_failure(failure, request, self.settings.getint("DOWNLOAD_MAXSIZE"))
        yield self._result(request, outcome, status=status, reason=reason)
        yield from self._redirects(request, request.url)

    def request_dropped(self, request):
        """A redirect can lead to a URL already scheduled: record the redirect, or the loop it closes."""
        chain = request.meta.get("redirect_urls")
        if not chain or not request.meta.get("page"):
            return
        if request.url in chain:
            loop = " → ".join([*chain, request.url])
            self.recorder(self._result(request, "failed", url=chain[0], reason=f"redirect loop: {loop}"))
            return
        for result in self._redirects(request, request.url):
            self.recorder(result)

    def _redirects(self, request: Request, final_url: str):
        chain = request.meta.get("redirect_urls", [])
        reasons = request.meta.get("redirect_reasons", [])
        for n, url in enumerate(chain):
            status = reasons[n] if n < len(reasons) and isinstance(reasons[n], int) else None
            yield self._result(request, "redirected", url=url, status=status, redirect_to=final_url,
                               reason=f"{status or 'meta refresh'} redirect to {final_url}")

    def _result(self, request: Request, outcome: str, url: str | None = None, **fields) -> FetchResult:
        source = request.meta["source"]
        return FetchResult(url=url or request.url, city=source["city"], source_id=source["id"], outcome=outcome,
                           **fields)

    def closed(self, reason: str) -> None:
        self.extractor.close()
        if getattr(self, "committer", None) and self.committer.running:
            self.committer.stop()
        self.recorder.flush()
        complete = reason == "finished" and not self.budget_hit
        with session_scope(self.plan["database"]) as session:
            state = runs.finish(session, self.plan["crawl_id"], complete)
        emit({"event": "closed", "reason": reason, "state": state}, now=True)


def ocr_seconds(limits: dict) -> float:
    """OCR's time for one scan: its setting, within the document's deadline (past which the worker is killed and
    the pages already read are lost), so that a long scan ends with the pages it read."""
    return min(limits["ocr_seconds"], OCR_SHARE * limits["extract_seconds"])


def describe_failure(failure, request: Request, maxsize: int) -> tuple[str, int | None, str]:
    """(outcome, HTTP status, reason) for a request that produced no page."""
    attempts = request.meta.get("retry_times", 0) + 1
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if failure.check(HttpError):
        status = failure.value.response.status
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        return "failed", status, f"HTTP {status} {phrase}".strip() + tries
    if failure.check(RefusedRequest):
        return "refused", None, str(failure.value)
    if failure.check(IgnoreRequest):
        message = str(failure.value)
        if message == "Forbidden by robots.txt":
            return "refused", None, "forbidden by robots.txt"
        if message == "max redirections reached":
            return "failed", None, "redirect loop: too many redirects"
        return "refused", None, message
    if failure.check(DownloadTimeoutError):
        return "failed", None, f"timed out after {request.meta.get('download_timeout', '?')} s{tries}"
    if failure.check(DownloadCancelledError):
        return "failed", None, f"oversized: body larger than the {maxsize}-byte cap, download cancelled"
    if failure.check(ResponseDataLossError):
        return "failed", None, f"truncated body: the connection closed before the announced length{tries}"
    if failure.check(DownloadConnectionRefusedError):
        return "failed", None, f"connection refused{tries}"
    if failure.check(CannotResolveHostError):
        return "failed", None, f"DNS lookup failed for {urlsplit(request.url).hostname}{tries}"
    return "failed", None, f"{type(failure.value).__name__}: {failure.value}"


def _is_sitemap(response) -> bool:
    media = (_header(response, "Content-Type") or "").split(";")[0].strip()
    head = response.body[:1000]
    return media.endswith("xml") and (b"<urlset" in head or b"<sitemapindex" in head)


def _header(response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
