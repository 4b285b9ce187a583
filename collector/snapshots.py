"""Recording fetches: immutable snapshots when a document's text changes, a Fetch row for every attempt.

Raw bytes are stored once per content hash under `ab/<sha256>` in the raw store (`<data dir>/raw/`, or the
shared bucket: evidence.storage); text and metadata go to the
record. Outcomes: `new-snapshot` (text never seen at this URL's document), `unchanged` (same text as the
URL's last snapshot), `duplicate` (the same text is already the current content of another URL: one
document, two URLs), `not-modified` (a 304 to a conditional request), `redirected`, `failed`, `refused`,
`lost` (the extraction worker died on the page twice: not the page's answer, and never a clean crawl).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from evidence.database import existing, insert_unless_present
from evidence.record import Document, Fetch, Page, Snapshot, now
from evidence.storage import blob_store

if TYPE_CHECKING:  # the extractor's libraries are heavy; readers of the record need none of them
    from collector.extract import Extraction


@dataclass
class FetchResult:
    """What the crawler learnt about one URL; the recorder turns it into rows."""

    url: str
    city: str
    outcome: str  # fetched | not-modified | redirected | failed | refused | lost
    source_id: int | None = None
    status: int | None = None
    reason: str | None = None
    body: bytes | None = field(default=None, repr=False)
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    extraction: Extraction | None = field(default=None, repr=False)
    links: list[str] = field(default_factory=list, repr=False)
    redirect_to: str | None = None


def store_raw(data_dir: Path, body: bytes) -> str:
    """Store the bytes under their SHA-256 (once: same bytes, same key) in the raw store; return the hash."""
    digest = hashlib.sha256(body).hexdigest()
    blob_store(data_dir, "raw").put(f"{digest[:2]}/{digest}", body)
    return digest


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def storable(value):
    """`value` without NUL characters (in strings, and in the lists and dicts it holds), and how many it lost.

    PostgreSQL cannot store a NUL in text; a crawled page may well hold some (a text file, a PDF's text
    layer). They carry no words, so they are dropped, on every backend alike (the text and its hash are the
    same everywhere), and the snapshot records how many (`meta.nul_removed`).
    """
    if isinstance(value, str):
        return value.replace("\x00", ""), value.count("\x00")
    if isinstance(value, list):
        cleaned = [storable(v) for v in value]
        return [v for v, _ in cleaned], sum(n for _, n in cleaned)
    if isinstance(value, dict):
        pairs = {storable(k)[0]: storable(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return value, 0


def _storable_result(result: FetchResult) -> FetchResult:
    """The fetch result with the NULs of its text fields removed; the extraction's meta counts them."""
    removed = 0
    for name in ("url", "reason", "content_type", "etag", "last_modified", "redirect_to", "links"):
        setattr(result, name, storable(getattr(result, name))[0])
    # a validator longer than its column cannot be stored whole, and a cut one would never match: none is kept
    # (the page is fetched in full next time instead of conditionally)
    for name, column in (("etag", Page.etag), ("last_modified", Page.last_modified)):
        if len(getattr(result, name) or "") > column.type.length:
            setattr(result, name, None)
    if result.extraction is not None:
        found = result.extraction
        for name in ("text", "title", "charset", "language", "language_source", "meta"):
            value, lost = storable(getattr(found, name))
            setattr(found, name, value)
            removed += lost
        if removed:
            found.meta["nul_removed"] = removed
    return result


def record(session: Session, result: FetchResult, data_dir: Path, crawl_id: int | None = None) -> str:
    """Record one fetch result in the session; returns the outcome as stored."""
    result = _storable_result(result)
    page = _page(session, result)
    matched: tuple[int, int] | None = None  # (snapshot id, document id) the fetch showed
    outcome, reason = result.outcome, result.reason
    if result.outcome == "fetched":
        assert result.extraction is not None and result.body is not None
        outcome, matched, why = _snapshot(session, page, result, result.extraction, result.body, data_dir)
        reason = "; ".join(r for r in (why, result.extraction.cut) if r) or None
        page.etag, page.last_modified, page.links = result.etag, result.last_modified, result.links
    elif result.outcome == "not-modified" and page.snapshot_id:  # what the 304 confirms: its text is not read
        matched = page.snapshot_id, session.scalars(select(Snapshot.document_id)
                                                    .where(Snapshot.id == page.snapshot_id)).one()
    elif result.outcome == "redirected":
        target = session.execute(select(Page.document_id).where(Page.url == result.redirect_to)).first()
        page.document_id = target.document_id if target else page.document_id
        reason = reason or f"redirected to {result.redirect_to}"
    if matched is not None:
        page.snapshot_id, page.document_id = matched
    page.last_status, page.last_outcome, page.last_reason, page.last_checked_at = result.status, outcome, reason, now()
    session.add(Fetch(url=result.url, city=result.city, status=result.status, outcome=outcome, reason=reason,
                      snapshot_id=matched[0] if matched else None, crawl_id=crawl_id))
    return outcome


def record_not_modified(session: Session, results: list[FetchResult], data_dir: Path, crawl_id: int | None = None) -> None:
    """Record many 304s as `record` would, in three statements for the lot: a re-crawl of an unchanged site
    costs its conditional requests and one fetch row per page, not four statements each."""
    results = [_storable_result(r) for r in results]
    rows = {row.url: row for row in session.execute(
        select(Page.url, Page.id, Page.document_id, Page.snapshot_id, Snapshot.document_id.label("shown"))
        .outerjoin(Snapshot, Snapshot.id == Page.snapshot_id).where(Page.url.in_({r.url for r in results})))}
    pages, fetches = [], []
    for result in results:
        row = rows.get(result.url)
        if row is None:  # a 304 to a request that asked nothing conditionally: a page of its own, the long way
            record(session, result, data_dir, crawl_id)
            continue
        document = row.shown if row.snapshot_id else row.document_id
        pages.append({"id": row.id, "document_id": document, "last_status": result.status,
                      "last_outcome": "not-modified", "last_reason": result.reason, "last_checked_at": now()})
        fetches.append({"url": result.url, "city": result.city, "status": result.status, "outcome": "not-modified",
                        "reason": result.reason, "snapshot_id": row.snapshot_id, "crawl_id": crawl_id, "at": now()})
    if pages:
        session.execute(update(Page), pages)
        session.execute(insert(Fetch), fetches)


def _page(session: Session, result: FetchResult) -> Page:
    """The URL's page row, inserted if new. `INSERT … ON CONFLICT DO NOTHING` first: two crawls of overlapping
    editions reach the same URL, and the second insert waits for the first's commit, then finds its row."""
    page = session.scalars(select(Page).where(Page.url == result.url)).first()
    if page is None:
        insert_unless_present(session, Page, {"url": result.url, "city": result.city, "source_id": result.source_id,
                                              "links": []}, ["url"])
        page = session.scalars(select(Page).where(Page.url == result.url)).one()
    return page


def _snapshot(session: Session, page: Page, result: FetchResult, extraction: Extraction, body: bytes,
              data_dir: Path) -> tuple[str, tuple[int, int], str | None]:
    digest = text_hash(extraction.text)
    current = session.execute(select(Snapshot.id, Snapshot.text_sha256, Snapshot.document_id)
                              .where(Snapshot.id == page.snapshot_id)).first() if page.snapshot_id else None
    if current is not None and current.text_sha256 == digest:
        return "unchanged", (current.id, current.document_id), None
    twin = session.execute(
        select(Snapshot.id, Snapshot.document_id, Snapshot.url).join(Page, Page.snapshot_id == Snapshot.id)
        .where(Snapshot.text_sha256 == digest, Page.city == page.city, Page.url != page.url)
        .order_by(Snapshot.id)).first()
    if twin is not None:
        return "duplicate", (twin.id, twin.document_id), f"same text as {twin.url}"
    document = _document_for_new_text(session, page)
    snapshot = Snapshot(document_id=document.id, url=result.url, fetched_at=now(),
                        raw_sha256=store_raw(data_dir, body), text_sha256=digest,
                        content_type=(result.content_type or "")[:100] or None, charset=extraction.charset,
                        title=extraction.title, published_on=extraction.published_on, language=extraction.language,
                        text=extraction.text, meta=_meta(result, extraction))
    session.add(snapshot)
    session.flush()
    return "new-snapshot", (snapshot.id, snapshot.document_id), None


def _document_for_new_text(session: Session, page: Page) -> Document:
    """The page's document, unless another URL still shows that document's content: then the page's new
    text starts a document of its own (the other URL has not changed)."""
    if page.document_id is not None:
        shared = session.scalars(select(Page.id).where(Page.document_id == page.document_id,
                                                       Page.id != page.id, Page.snapshot_id.is_not(None))).first()
        if shared is None:
            return existing(session, Document, page.document_id)
    document = Document(city=page.city)
    session.add(document)
    session.flush()
    return document


def _meta(result: FetchResult, extraction: Extraction) -> dict:
    meta = {"kind": extraction.kind, "language_source": extraction.language_source, **extraction.meta}
    if extraction.cut:
        meta["cut"] = extraction.cut
    for key in ("etag", "last_modified"):
        if getattr(result, key):
            meta[key] = getattr(result, key)
    return meta
