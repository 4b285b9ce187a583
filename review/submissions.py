"""Collecting submitted evidence: each pending attachment (a URL, an uploaded file) through the collector, as a
snapshot of the item's city, indexed; then the item is proposed again and goes back to review flagged
`evidence-submitted`.

The collector's guards hold for submissions as for the registry's sources: a URL is crawled as a seed (that one
document) by the same crawl process, with its address guard (a loopback or private address is refused unless
`allow_private`), robots.txt, size and time caps; a file goes through the same extraction pool (per-document
deadline, text cap, OCR bounds) after the same size cap. An attachment that cannot be collected is marked
`failed` with the reason and is not tried again; the item is proposed again only on what was collected.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from sqlalchemy import select, update

from collector import crawl as crawling
from collector.ocr import OcrLimits
from collector.runs import CrawlSource
from collector.snapshots import FetchResult, record
from collector.workers import ExtractionPool
from evidence.database import existing, session_scope
from evidence.record import Attachment, Page, Proposal, Snapshot, now
from evidence.settings import CrawlLimits, Settings
from evidence.storage import blob_store
from review.attachments import pending
from review.proposer.llm import LLMConfig
from review.proposer.run import Outcome, ProposalRun, default_method, questions
from vectorstore.index import index_snapshots

FLAG = "evidence-submitted"


@dataclass(frozen=True)
class Submission:
    """A pending attachment with the item it was attached to."""

    attachment: int
    kind: str  # url | file
    url: str | None
    sha256: str | None
    filename: str | None
    content_type: str | None
    edition: str
    city: str
    indicator: str


def collect_pending(settings: Settings, limits: CrawlLimits | None = None, allow_private: bool = False,
                    console: Console | None = None) -> dict:
    """Collect every pending attachment, index what it gave and send its items back to review."""
    limits = limits or settings.crawl
    with session_scope(settings.database) as s:
        todo = [Submission(a.id, a.kind, a.url, a.sha256, a.filename, a.content_type, p.edition, p.city, p.indicator)
                for a, p in pending(s)]
    if not todo:
        return {"collected": [], "failed": [], "reproposed": []}
    _collect_urls(settings, [t for t in todo if t.kind == "url"], limits, allow_private, console)
    _collect_files(settings, [t for t in todo if t.kind == "file"], limits)
    index_snapshots(settings, show_progress=console is not None)
    items = sorted({(t.edition, t.city, t.indicator) for t in todo if _collected(settings, t.attachment)})
    reproposed = [_send_back(settings, item, [t.attachment for t in todo if (t.edition, t.city, t.indicator) == item])
                  for item in items]
    with session_scope(settings.database) as s:
        rows = s.scalars(select(Attachment).where(Attachment.id.in_([t.attachment for t in todo]))).all()
        return {"collected": [_row(a) for a in rows if a.state == "collected"],
                "failed": [_row(a) for a in rows if a.state == "failed"], "reproposed": reproposed}


def _row(a: Attachment) -> dict:
    return {"attachment": a.id, "kind": a.kind, "url": a.url, "filename": a.filename, "snapshot": a.snapshot_id,
            "proposal": a.proposal_id, "reason": a.reason}


def _collect_urls(settings: Settings, todo: list[Submission], limits: CrawlLimits, allow_private: bool,
                  console: Console | None) -> None:
    """One seed crawl per edition: the collector's crawl process, with its guards and caps."""
    for edition in sorted({t.edition for t in todo}):
        mine = [t for t in todo if t.edition == edition]
        sources = {(t.city, t.url): _seed(t, allow_private) for t in mine if t.url}
        crawling.run(settings, edition, list(sources.values()), limits, restart=True, console=console)
        with session_scope(settings.database) as s:
            for t in mine:
                _settle(s, t.attachment, *_crawled(s, str(t.url)))


def _seed(t: Submission, allow_private: bool) -> CrawlSource:
    host = (urlsplit(str(t.url)).hostname or "").removeprefix("www.")
    return CrawlSource(t.city, str(t.url), (host,), allow_private, "seed", languages=crawling.city_languages(t.city))


def _crawled(session, url: str) -> tuple[int | None, str | None]:
    """The snapshot a crawled URL shows now (a redirect's: its document's latest), or why there is none."""
    page = session.scalars(select(Page).where(Page.url == url)).first()
    if page is None:
        return None, "not fetched"
    if page.snapshot_id is not None:
        return page.snapshot_id, None
    if page.document_id is not None:
        latest = session.scalars(select(Snapshot.id).where(Snapshot.document_id == page.document_id)
                                 .order_by(Snapshot.id.desc())).first()
        if latest is not None:
            return latest, None
    return None, f"{page.last_outcome}: {page.last_reason or 'no text'}"


def _collect_files(settings: Settings, todo: list[Submission], limits: CrawlLimits) -> None:
    """Each stored file through the collector's extraction pool and recorder, as a fetch of its own URL."""
    if not todo:
        return
    pool = ExtractionPool(seconds=limits.extract_seconds, max_chars=limits.max_text_chars,
                          ocr=OcrLimits(limits.ocr_pages, min(limits.ocr_seconds, 0.8 * limits.extract_seconds)))
    try:
        for t in todo:
            result = asyncio.run(_file_result(pool, settings.data_dir, t, limits.max_bytes))
            with session_scope(settings.database) as s:
                record(s, result, settings.data_dir.resolve())
                s.flush()
                _settle(s, t.attachment, *_crawled(s, result.url))
    finally:
        pool.close()


def upload_url(t: Submission) -> str:
    """Where a submitted file is recorded: its hash (the same bytes are one document) and name."""
    return f"upload:{t.sha256}/{t.filename or 'file'}"


async def _file_result(pool: ExtractionPool, data_dir: Path, t: Submission, max_bytes: int) -> FetchResult:
    from collector.extract import ExtractionError
    from collector.workers import ExtractionLost, ExtractionTooLong

    url = upload_url(t)
    store = blob_store(data_dir, "attachments")  # the data directory's folder, or the shared bucket
    if not store.exists(str(t.sha256)):
        return FetchResult(url, t.city, "failed", reason=f"the stored file {t.sha256} is missing")
    body = store.get(str(t.sha256))
    if len(body) > max_bytes:
        return FetchResult(url, t.city, "refused", reason=f"oversized: larger than the {max_bytes}-byte cap")
    try:
        found = await pool.extract(body, t.content_type, url, None, crawling.city_languages(t.city))
    except (ExtractionError, ExtractionTooLong, ExtractionLost) as e:
        return FetchResult(url, t.city, "failed", reason=str(e))
    return FetchResult(url, t.city, "fetched", body=body, content_type=t.content_type, extraction=found)


def _settle(session, attachment_id: int, snapshot_id: int | None, reason: str | None) -> None:
    row = existing(session, Attachment, attachment_id)
    row.state, row.snapshot_id, row.reason, row.collected_at = ("collected" if snapshot_id else "failed"), \
        snapshot_id, reason, now()


def _collected(settings: Settings, attachment_id: int) -> bool:
    with session_scope(settings.database) as s:
        return existing(s, Attachment, attachment_id).state == "collected"


def repropose(settings: Settings, edition: str, city: str, indicator: str) -> Outcome:
    """Stale the item's current proposals and propose it again (on the evidence the index now holds)."""
    with session_scope(settings.database) as s:
        # stale first: if the proposer finds the same evidence it reuses this proposal, which stays flagged
        s.execute(update(Proposal).where(Proposal.edition == edition, Proposal.city == city,
                                         Proposal.indicator == indicator, Proposal.stale.is_(False))
                  .values(stale=True))
    method = default_method(settings)
    llm = LLMConfig.from_settings(settings) if method == "llm" else None
    return ProposalRun(settings, method, llm, show_progress=False).run(questions(edition, [city], [indicator])).outcomes[0]


def _send_back(settings: Settings, item: tuple[str, str, str], attachments: list[int]) -> dict:
    """Propose the item again and flag the new proposal: back in the review queue as `evidence-submitted`."""
    outcome = repropose(settings, *item)
    with session_scope(settings.database) as s:
        if outcome.proposal_id is not None:
            proposal = existing(s, Proposal, outcome.proposal_id)
            proposal.flags = [*(f for f in proposal.flags or [] if f != FLAG), FLAG]
            proposal.stale = False
        s.execute(update(Attachment).where(Attachment.id.in_(attachments), Attachment.state == "collected")
                  .values(proposal_id=outcome.proposal_id))
    edition, city, indicator = item
    return {"edition": edition, "city": city, "indicator": indicator, "proposal": outcome.proposal_id,
            "status": outcome.status, "level": outcome.level}
