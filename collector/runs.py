"""Crawl runs in the record: start or resume one, what it already fetched, what it found.

The database, not Scrapy's job directory, is the truth about a run: every page is recorded in its own
transaction, so a run killed at any instant knows exactly which pages are finished. A run that stopped
cleanly (Ctrl-C, --max-pages) also keeps Scrapy's JOBDIR (its queue); one that was killed loses that
directory, which a kill leaves half-written, and is rebuilt from the record instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.database import existing, insert_unless_present
from evidence.record import Crawl, Fetch, Page, Snapshot, SourceRow, now
from evidence.settings import CrawlLimits
from evidence.vocabulary import LIST_DEPTH

DEFAULT_SCHEDULE = "7d"


@dataclass(frozen=True)
class CrawlSource:
    """A source as the crawler uses it (registry or sample), with its row id once recorded."""

    city: str
    url: str
    allowed_domains: tuple[str, ...]
    allow_private: bool = False
    kind: str = "portal"
    id: int | None = None
    schedule: str | None = None  # the registry's re-crawl interval ("7d"); None: the default
    depth: int | None = None  # the source's own link depth; None: its kind's default
    pages: int | None = None  # the source's own page budget per run; None: the run's
    languages: tuple[str, ...] = ()  # the city's (what OCR reads a scan in)

    def plan(self, limits: CrawlLimits) -> dict:
        """What the spider needs, with the depth and page budget this run gives the source: a seed is one
        document (depth 0, one page, no sitemap), a list page its links (depth 1), a portal the run's depth."""
        depth = 0 if self.kind == "seed" else self.depth if self.depth is not None else \
            LIST_DEPTH if self.kind == "list" else limits.depth
        pages = 1 if self.kind == "seed" else self.pages or limits.source_pages
        return {"id": self.id, "city": self.city, "url": self.url, "allowed_domains": list(self.allowed_domains),
                "allow_private": self.allow_private, "kind": self.kind, "depth": depth, "pages": pages,
                "sitemaps": self.kind == "portal", "languages": list(self.languages)}


def scope_key(edition: str, sources: list[CrawlSource]) -> str:
    pairs = sorted((s.city, s.url) for s in sources)
    return hashlib.sha256(json.dumps([edition, pairs]).encode()).hexdigest()


def record_sources(session: Session, sources: list[CrawlSource]) -> list[CrawlSource]:
    """Upsert a row per source (the registry stays the truth; the row carries crawl state)."""
    out = []
    for s in sources:
        # two crawls of overlapping editions may add the same source at once: the second finds the first's row
        insert_unless_present(session, SourceRow, {"city": s.city, "url": s.url}, ["city", "url"])
        row = session.scalars(select(SourceRow).where(SourceRow.city == s.city, SourceRow.url == s.url)).one()
        row.kind, row.allowed_domains, row.allow_private = s.kind, list(s.allowed_domains), s.allow_private
        row.schedule = s.schedule or DEFAULT_SCHEDULE
        row.depth, row.pages = s.depth, s.pages
        session.flush()
        out.append(replace(s, id=row.id))
    return out


def from_row(row: SourceRow, languages: tuple[str, ...] = ()) -> CrawlSource:
    """The source as recorded (how a watch pass re-crawls it: its kind, depth and budget as the crawl had them)."""
    return CrawlSource(row.city, row.url, tuple(row.allowed_domains), row.allow_private, row.kind, row.id,
                       row.schedule, row.depth, row.pages, languages)


def begin(session: Session, edition: str, sources: list[CrawlSource], jobs_dir: Path,
          restart: bool = False) -> tuple[Crawl, bool]:
    """The run to do now: the unfinished run of the same scope (resumed), or a new one. Returns (run, resumed).
    The caller holds the scope's lock (`scope_lock`): a run of the scope still marked running was killed."""
    scope = scope_key(edition, sources)
    run = session.scalars(select(Crawl).where(Crawl.scope == scope, Crawl.state.in_(("running", "paused")))
                          .order_by(Crawl.id.desc())).first()
    if run is not None and restart:
        run.state, run.finished_at = "abandoned", now()
        run = None
    if run is None:
        run = Crawl(edition=edition, scope=scope, cities=sorted({s.city for s in sources}))
        session.add(run)
        session.flush()
        shutil.rmtree(job_dir(jobs_dir, run.id), ignore_errors=True)  # a fresh database over an old data dir
        resumed = False
    else:
        if run.state == "running":  # killed: its JOBDIR may be torn; the record knows what is finished
            shutil.rmtree(job_dir(jobs_dir, run.id) / "jobdir", ignore_errors=True)
        resumed = True
    run.state, run.pid = "running", os.getpid()
    return run, resumed


def job_dir(jobs_dir: Path, crawl_id: int) -> Path:
    """Where a run keeps its plan, its Scrapy log and its JOBDIR (`jobdir/`)."""
    return jobs_dir / f"crawl-{crawl_id}"


def finish(session: Session, crawl_id: int, complete: bool) -> str:
    run = existing(session, Crawl, crawl_id)
    run.state = "finished" if complete else "paused"
    run.finished_at = now() if complete else None
    return run.state


def fetched_in(session: Session, crawl_id: int) -> dict[str, list[str]]:
    """URLs this run already recorded, with the links each had (a resumed run follows them unfetched)."""
    urls = set(session.scalars(select(Fetch.url).where(Fetch.crawl_id == crawl_id)))
    links: dict[str, list[str]] = {}
    if urls:
        links = dict(session.execute(select(Page.url, Page.links).where(Page.url.in_(urls))).tuples().all())
    return {url: links.get(url) or [] for url in urls}


def known_pages(session: Session, cities: list[str]) -> dict[str, dict]:
    """Validators and links of the pages these cities already have snapshots of: conditional requests."""
    rows = session.execute(select(Page.url, Page.etag, Page.last_modified, Page.links)
                           .where(Page.city.in_(cities), Page.snapshot_id.is_not(None))).all()
    return {url: {"etag": etag, "last_modified": modified, "links": links or []}
            for url, etag, modified, links in rows}


def summary(session: Session, crawl_id: int) -> dict:
    """Outcome counts per city for one run, and the run's state."""
    run = existing(session, Crawl, crawl_id)
    rows = session.execute(select(Fetch.city, Fetch.outcome).where(Fetch.crawl_id == crawl_id)).all()
    per_city: dict[str, Counter] = {city: Counter() for city in run.cities}
    for city, outcome in rows:
        per_city.setdefault(city, Counter())[outcome] += 1
    snapshots = session.scalars(select(Snapshot.id).join(Fetch, Fetch.snapshot_id == Snapshot.id)
                                .where(Fetch.crawl_id == crawl_id, Fetch.outcome == "new-snapshot")).all()
    lost = sum(counts["lost"] for counts in per_city.values())
    # `clean`: nothing of ours went wrong (a page that the site fails to serve is the site's answer, recorded)
    return {"crawl": run.id, "edition": run.edition, "state": run.state, "cities": run.cities,
            "started_at": run.started_at, "finished_at": run.finished_at, "new_snapshots": len(snapshots),
            "fetches": len(rows), "lost": lost, "clean": run.state == "finished" and not lost,
            "outcomes": {city: dict(counts) for city, counts in sorted(per_city.items())}}


def editions_of(session: Session, cities: set[str]) -> dict[str, str]:
    """The edition each of `cities` was last crawled for (a crawl run is recorded under one edition)."""
    out: dict[str, str] = {}
    for run in session.scalars(select(Crawl).order_by(Crawl.id.desc())):
        for city in run.cities:
            if city in cities:
                out.setdefault(city, run.edition)
    return out
