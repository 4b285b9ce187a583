"""Reading collected documents back: listings, one document with its URLs and versions, a URL's text diff."""

from __future__ import annotations

import difflib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.database import existing, lookup, valid_id
from evidence.errors import EvidenceError
from evidence.record import Document, Fetch, Page, Snapshot


def list_documents(session: Session, city: str | None = None) -> list[dict]:
    """One row per document: its latest snapshot's title and language, its URLs, how many versions."""
    query = select(Document).order_by(Document.city, Document.id)
    if city:
        query = query.where(Document.city == city)
    urls = _urls_by_document(session)
    rows = []
    for doc in session.scalars(query):
        latest = doc.snapshots[-1] if doc.snapshots else None
        if latest is None:
            continue
        rows.append({"id": doc.id, "city": doc.city, "title": latest.title, "language": latest.language,
                     "kind": latest.meta.get("kind"), "published_on": latest.published_on,
                     "urls": urls.get(doc.id, []), "snapshots": len(doc.snapshots), "fetched_at": latest.fetched_at,
                     "chars": len(latest.text)})
    return rows


def _urls_by_document(session: Session) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for doc_id, url in session.execute(select(Page.document_id, Page.url).where(Page.document_id.is_not(None))
                                       .order_by(Page.url)):
        if doc_id is not None:  # the query's filter: every row has one
            out.setdefault(doc_id, []).append(url)
    return out


def find_document(session: Session, key: str) -> Document:
    """A document by id or by one of its URLs."""
    number = key.isascii() and key.isdigit()  # not int("²"), which isdigit() allows
    doc = lookup(session, Document, int(key)) if number else None
    if doc is None and not number:
        page = session.scalars(select(Page).where(Page.url == key)).first()
        doc = session.get(Document, page.document_id) if page and page.document_id else None
    if doc is None:
        raise EvidenceError(f"no document {key!r} (give a document id or one of its URLs)")
    return doc


def show_document(session: Session, key: str) -> dict:
    doc = find_document(session, key)
    pages = session.scalars(select(Page).where(Page.document_id == doc.id).order_by(Page.url)).all()
    fetches = session.scalars(select(Fetch).where(Fetch.url.in_([p.url for p in pages]))
                              .order_by(Fetch.at.desc(), Fetch.id.desc()).limit(20)).all()
    latest = doc.snapshots[-1]
    return {"id": doc.id, "city": doc.city, "title": latest.title, "language": latest.language,
            "published_on": latest.published_on,
            "urls": [{"url": p.url, "last_outcome": p.last_outcome, "last_checked_at": p.last_checked_at}
                     for p in pages],
            "snapshots": [_snapshot_row(s) for s in doc.snapshots],
            "fetches": [{"url": f.url, "at": f.at, "status": f.status, "outcome": f.outcome, "reason": f.reason}
                        for f in fetches],
            "text": latest.text}


def _snapshot_row(s: Snapshot) -> dict:
    return {"id": s.id, "url": s.url, "fetched_at": s.fetched_at, "raw_sha256": s.raw_sha256,
            "text_sha256": s.text_sha256, "content_type": s.content_type, "charset": s.charset,
            "language": s.language, "title": s.title, "chars": len(s.text), "meta": s.meta}


def diff_url(session: Session, url: str, old_id: int | None = None, new_id: int | None = None) -> dict:
    """The text diff between two versions of a URL: by default its last two; or the snapshots named."""
    history = url_history(session, url)
    if old_id or new_id:
        old, new = (_snapshot(session, old_id) if old_id else history[-2] if len(history) > 1 else None,
                    _snapshot(session, new_id) if new_id else history[-1] if history else None)
    else:
        if len(history) < 2:
            raise EvidenceError(f"{url} has {len(history)} version(s) recorded; a diff needs two")
        old, new = history[-2], history[-1]
    if old is None or new is None:
        raise EvidenceError(f"{url}: name both snapshots to compare (--from and --to)")
    return {"url": url, "from": _snapshot_row(old), "to": _snapshot_row(new), "diff": unified_diff(old, new),
            "versions": [s.id for s in history]}


def _snapshot(session: Session, snapshot_id: int) -> Snapshot:
    snap = lookup(session, Snapshot, snapshot_id)
    if snap is None:
        raise EvidenceError(f"no snapshot {snapshot_id}")
    return snap


def list_fetches(session: Session, city: str | None = None, outcomes: list[str] | None = None,
                 crawl_id: int | None = None, limit: int = 500) -> list[dict]:
    """The fetch log, newest first: every attempt, including failures and refusals with their reasons."""
    query = select(Fetch).order_by(Fetch.id.desc()).limit(limit)
    if city:
        query = query.where(Fetch.city == city)
    if outcomes:
        query = query.where(Fetch.outcome.in_(outcomes))
    if crawl_id is not None and not valid_id(crawl_id):
        return []  # no crawl has such an id
    if crawl_id is not None:
        query = query.where(Fetch.crawl_id == crawl_id)
    return [{"id": f.id, "crawl": f.crawl_id, "city": f.city, "url": f.url, "at": f.at, "status": f.status,
             "outcome": f.outcome, "reason": f.reason, "snapshot": f.snapshot_id} for f in session.scalars(query)]


def url_history(session: Session, url: str) -> list[Snapshot]:
    """The successive versions a URL has shown, oldest first (from its fetches: a URL can move between
    documents, and a document can be shown at several URLs)."""
    fetches = session.scalars(select(Fetch).where(Fetch.url == url, Fetch.snapshot_id.is_not(None))
                              .order_by(Fetch.at, Fetch.id)).all()
    history: list[Snapshot] = []
    for fetch in fetches:
        if not history or history[-1].id != fetch.snapshot_id:
            history.append(existing(session, Snapshot, fetch.snapshot_id))
    return history


def unified_diff(old: Snapshot, new: Snapshot) -> str:
    """The line diff between two snapshots' texts, labelled with their ids and fetch times."""
    def label(s: Snapshot) -> str:
        return f"snapshot {s.id} ({_iso(s.fetched_at)}) {s.url}"

    lines = difflib.unified_diff(old.text.splitlines(), new.text.splitlines(), label(old), label(new), lineterm="")
    return "\n".join(lines)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
