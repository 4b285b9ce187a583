"""`evidence discover`: find candidate documents for an edition's cities, and accept them into sources.

Three ways in: a web-search API asked each rung's text on the city's official domains (`collector.queries`,
`collector.search`); the sitemaps of the city's portals and the feeds they announce, read by trafilatura's own
`sitemaps.sitemap_search` and `feeds.find_feed_urls` (with trafilatura's guard against non-public addresses).
Every candidate is recorded once per city with the query (or the portal) that found it; accepting one adds it to
the user's registry folder as a seed source and crawls it.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector import crawl as crawling
from collector.middlewares import in_domains
from collector.queries import Query, city_queries, official_domains
from collector.search import SearchClient
from evidence.database import session_scope, valid_id
from evidence.errors import DataError, EvidenceError
from evidence.record import Candidate
from evidence.settings import CrawlLimits, Settings
from evidence.vocabulary import City, Source
from frameworks import load_framework


def discover(settings: Settings, edition: str, cities: list[City], indicators: list[str] | None = None,
             search: bool = True, feeds: bool = True) -> dict:
    """Ask for the cities' documents; returns what was asked and how many new candidates each city got."""
    framework = load_framework(edition)
    for indicator in indicators or []:
        framework.indicator(indicator)  # an unknown indicator is an error, not an empty run
    queries = [q for city in cities for q in city_queries(framework, city, indicators)]
    asked = queries[:settings.discovery.max_queries] if search else []
    found: dict[str, int] = dict.fromkeys((c.id for c in cities), 0)
    if asked:
        client = SearchClient(settings.discovery)
        try:
            for query in asked:
                found[query.city] += _record_hits(settings, edition, query, client)
        finally:
            client.close()
    if feeds:
        for city in cities:
            found[city.id] += _from_sitemaps_and_feeds(settings, edition, city)
    return {"edition": edition, "queries": len(asked), "queries_left": len(queries) - len(asked) if search else 0,
            "engine": settings.discovery.engine if asked else None, "new_candidates": found,
            "without_domain": sorted(c.id for c in cities if not official_domains(c))}


def _record_hits(settings: Settings, edition: str, query: Query, client: SearchClient) -> int:
    """The query's hits on its domain (an engine may answer with others), recorded when new for the city."""
    hits = [h for h in client.search(query.text) if in_domains(urlsplit(h.url).hostname, [query.domain])]
    with session_scope(settings.database) as s:
        return sum(_add(s, Candidate(edition=edition, city=query.city, indicator=query.indicator, level=query.level,
                                     url=h.url[:2000], title=h.title, snippet=h.snippet, engine=str(client.engine),
                                     query=query.text)) for h in hits)


def _from_sitemaps_and_feeds(settings: Settings, edition: str, city: City) -> int:
    from trafilatura.feeds import find_feed_urls
    from trafilatura.sitemaps import sitemap_search

    cap = settings.discovery.feed_urls
    added = 0
    for source in (s for s in city.sources if s.kind == "portal"):
        sitemap = sitemap_search(source.url, sleep_time=settings.crawl.delay, max_sitemaps=20)[:cap]
        feed = find_feed_urls(source.url)[:cap]
        with session_scope(settings.database) as s:
            for engine, urls in (("sitemap", sitemap), ("feed", feed)):
                added += sum(_add(s, Candidate(edition=edition, city=city.id, url=url[:2000], engine=engine,
                                               query=source.url)) for url in urls)
    return added


def _add(session: Session, candidate: Candidate) -> bool:
    """Record the candidate unless the city has it already (found earlier, by another query)."""
    known = session.scalars(select(Candidate.id).where(Candidate.city == candidate.city,
                                                       Candidate.url == candidate.url)).first()
    if known is not None:
        return False
    session.add(candidate)
    session.flush()
    return True


def list_candidates(session: Session, edition: str | None = None, city: str | None = None,
                    state: str | None = "new") -> list[dict]:
    query = select(Candidate).order_by(Candidate.city, Candidate.id)
    if edition:
        query = query.where(Candidate.edition == edition)
    if city:
        query = query.where(Candidate.city == city)
    if state:
        query = query.where(Candidate.state == state)
    return [_row(c) for c in session.scalars(query)]


def _row(c: Candidate) -> dict:
    return {"id": c.id, "edition": c.edition, "city": c.city, "indicator": c.indicator, "level": c.level,
            "url": c.url, "title": c.title, "snippet": c.snippet, "engine": c.engine, "query": c.query,
            "found_at": c.found_at, "state": c.state}


def accept(settings: Settings, ids: list[int], limits: CrawlLimits, allow_private: bool = False,
           console: Console | None = None) -> dict:
    """Add the candidates to the user's registry folder as seed sources (with where they were found), then crawl
    them, one crawl per edition."""
    from sources import load_registry
    from sources.imports import as_written
    from sources.user import add_sources

    with session_scope(settings.database) as s:
        chosen = [_candidate(s, i) for i in ids]
        rows = [_row(c) for c in chosen]
    registry = load_registry()
    added = [(r, Source(url=r["url"], kind="seed", allow_private=allow_private, provenance=_provenance(r)))
             for r in rows]
    add_sources(settings.registry_dirs, registry, [(r["city"], as_written(source)) for r, source in added])
    with session_scope(settings.database) as s:
        for c in s.scalars(select(Candidate).where(Candidate.id.in_(ids))):
            c.state = "accepted"
    crawls = []
    for edition in sorted({r["edition"] for r in rows}):
        sources = [crawling.crawl_source(r["city"], source) for r, source in added if r["edition"] == edition]
        crawls.append(crawling.run(settings, edition, sources, limits, console=console))
    return {"accepted": [r["id"] for r in rows], "crawls": crawls}


def _candidate(session: Session, candidate_id: int) -> Candidate:
    found = session.get(Candidate, candidate_id) if valid_id(candidate_id) else None
    if found is None:
        raise DataError("ID", str(candidate_id), "no such candidate (see `evidence discover candidates`)")
    if found.state == "accepted":
        raise EvidenceError(f"candidate {candidate_id} ({found.url}) is already a source of {found.city}")
    return found


def _provenance(row: dict) -> str:
    how = f"{row['engine']} query {row['query']}" if row["engine"] in ("searxng", "brave") else \
        f"the {row['engine']} of {row['query']}"
    return f"found by {how} on {date.today().isoformat()}; accepted with `evidence discover accept`"
