"""Downloader middlewares and the throttle: the crawl's rules that Scrapy does not have built in, one job each."""

from __future__ import annotations

import ipaddress

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater


class CrawlerComponent:
    """A Scrapy component that keeps the crawler (the spider holds the crawl's state: sources, known pages)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class RefusedRequest(IgnoreRequest):
    """We decided not to fetch this URL (the reason is recorded as a `refused` fetch)."""


class AlreadyFetched(IgnoreRequest):
    """This run recorded the URL before it was interrupted."""


def in_domains(host: str | None, domains) -> bool:
    """Is the host one of the domains or a subdomain of one? (hosts, not netlocs: ports do not matter)"""
    host = (host or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().lstrip(".") for d in domains))


# IANA's special-purpose blocks that are not globally reachable (and a few whose use is not a web site),
# written out rather than trusting `is_global`, which Python 3.11 gets wrong for 192.0.0.0/24 and others
NOT_GLOBAL = tuple((ipaddress.ip_network(block), name) for block, name in (
    ("0.0.0.0/8", "this-network"), ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("192.0.0.0/24", "IETF protocol assignments"), ("192.0.2.0/24", "documentation"),
    ("192.31.196.0/24", "AS112"), ("192.52.193.0/24", "AMT"), ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.175.48.0/24", "AS112"), ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"), ("240.0.0.0/4", "reserved"), ("255.255.255.255/32", "broadcast"),
    ("::/128", "unspecified"), ("64:ff9b:1::/48", "local-use NAT64"), ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"), ("2001:db8::/32", "documentation"), ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"), ("fc00::/7", "unique-local"), ("fec0::/10", "site-local"),
))


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def private_kind(address: str) -> str | None:
    """'loopback', 'private', 'shared (carrier-grade NAT)', ... for an address a crawler of public sites must not
    reach: anything but a globally routable unicast address. None if it is one."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            kind = private_kind(str(inner))
            return f"{kind} (inside {ip})" if kind else None
    for kind in ("loopback", "link_local", "multicast", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    for network, name in NOT_GLOBAL:
        if ip.version == network.version and ip in network:
            return name
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


class SourceGuard(CrawlerComponent):
    """Keeps each request inside its source's domains and away from private and loopback addresses, unless the
    source allows them (the bundled sample does). Runs before robots.txt is fetched, and again on every
    redirect, so neither a link nor a redirect can walk the crawler into an internal network."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.verdicts: dict[str, str | None] = {}

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        source = request.meta.get("source")
        if source and not in_domains(host, source["allowed_domains"]):
            raise RefusedRequest(f"{host} is outside the source's allowed domains ({', '.join(source['allowed_domains'])})")
        sources = [source] if source else self.crawler.spider.sources_of_host(host)
        if any(s["allow_private"] for s in sources):  # robots.txt: needed by any source of the host
            return None
        if host not in self.verdicts:
            self.verdicts[host] = await self._private(host)
        if self.verdicts[host]:
            raise RefusedRequest(f"{host} {self.verdicts[host]}; the source does not allow private addresses")
        return None

    async def _private(self, host: str) -> str | None:
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            from twisted.internet import reactor  # imported late: Scrapy installs the reactor first

            try:  # Scrapy's caching resolver: the address checked is the address connected to
                address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]  # twisted types the name as bytes
            except Exception:
                return None  # the download itself fails and records the DNS error
        kind = private_kind(address)
        return f"resolves to {kind} address {address}" if kind else None


class SkipFetched(CrawlerComponent):
    """A resumed run never fetches a URL it already recorded (a redirect may lead back to one)."""

    def process_request(self, request: Request) -> None:
        if request.meta.get("page") and request.url in self.crawler.spider.fetched_before:
            raise AlreadyFetched(f"{request.url} was recorded earlier in this crawl")


class RobotsTxt(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every waiting request getting the rules.

    Scrapy 2.19 awaits the pending robots.txt Deferred through asFuture(), which consumes its result: the
    first request waiting for a host's robots.txt gets the parser, every other one gets None, which means
    "allowed" (scrapy/scrapy#6802 made that change). A burst of first requests to a host, as a resumed crawl
    sends, then walked straight into forbidden sections. The parser is in self._parsers once fetched."""

    async def robot_parser(self, request):
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            parser = None if isinstance(stored, Deferred) else stored
        return parser


class ConditionalRequests(CrawlerComponent):
    """Asks only for what changed: If-None-Match / If-Modified-Since from the page's stored validators."""

    def process_request(self, request: Request) -> None:
        known = self.crawler.spider.known.get(request.url) if request.meta.get("page") else None
        for header, key in ((b"If-None-Match", "etag"), (b"If-Modified-Since", "last_modified")):
            request.headers.pop(header, None)  # a redirect copies the first URL's headers
            if known and known.get(key):
                request.headers[header] = known[key]


class BackoffRetry(RetryMiddleware):
    """Scrapy's retries, spaced out: the n-th retry waits RETRY_BACKOFF × 2^(n-1) seconds, so a struggling
    server gets air instead of an immediate second hit."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("RETRY_BACKOFF", 1.0)

    # Scrapy awaits a coroutine middleware method: the async override is how the back-off waits without blocking
    async def process_response(self, request, response):  # type: ignore[override]
        return await self._later(super().process_response(request, response))

    async def process_exception(self, request, exception):  # type: ignore[override]
        return await self._later(super().process_exception(request, exception))

    async def _later(self, result):
        if isinstance(result, Request) and self.backoff > 0:
            from twisted.internet import reactor

            delay = self.backoff * 2 ** (result.meta.get("retry_times", 1) - 1)
            await maybe_deferred_to_future(deferLater(reactor, delay))
        return result


class RevalidationThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, with a 304 counted as an ordinary answer. AutoThrottle lets only a 200 shorten a
    host's delay (small error pages would otherwise talk it down); on a re-crawl nearly every answer is a 304,
    so one slow moment raised the delay for the rest of the run. A 304's latency is the real cost of a
    revalidation to the server, so it paces the host as a 200 does."""

    def _adjust_delay(self, slot, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, response.replace(status=200) if response.status == 304 else response)
