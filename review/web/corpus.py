"""The author's corpus in the browser: the collected documents, each one's snapshots, and the coloured
diff between two of them; the list downloads as CSV or JSON.

Filters are chosen from the data (the cities and languages collected): a value the data does not hold
is an error on the page, never a silently empty list.
"""

from __future__ import annotations

import difflib
from datetime import date

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select

from collector.documents import list_documents
from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import Document, Snapshot
from review.web.base import config, render
from review.web.export import download, export_format
from review.web.session import Me, signed_in

router = APIRouter()


class NoSuchDocument(DataError):
    def __init__(self, what: str):
        super().__init__("document", what, "no such document or snapshot")
EXPORT_COLUMNS = ("id", "city", "title", "language", "published_on", "fetched_at", "snapshots", "chars", "urls")
DIFF_CONTEXT = 3  # unchanged lines shown around each change


def date_field(field: str, value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise DataError(field, value, "not a date (YYYY-MM-DD)") from None


def chosen_facet(field: str, value: str, known: list[str]) -> str | None:
    if value and value not in known:
        raise DataError(field, value, f"no documents of that {field}; known: {', '.join(known) or 'none'}")
    return value or None


def facets(session) -> dict[str, list[str]]:
    """The cities and the languages of the collected documents (a document's language is its latest
    version's), in two queries: the search page needs them on every request, not the documents themselves."""
    newest = (select(Snapshot.document_id, func.max(Snapshot.fetched_at).label("at"))
              .group_by(Snapshot.document_id).subquery())
    latest = select(Snapshot.language).join(newest, (Snapshot.document_id == newest.c.document_id)
                                            & (Snapshot.fetched_at == newest.c.at))
    cities = select(Document.city).where(Document.id.in_(select(Snapshot.document_id))).distinct()
    return {"city": sorted(session.scalars(cities)),
            "language": sorted({lang for lang in session.scalars(latest.distinct()) if lang})}


def documents(session, city: str, language: str, since: str, until: str, text: str) -> tuple[list[dict], dict]:
    """The documents the filters keep, and the facets to choose them from."""
    rows, choices = list_documents(session), facets(session)
    wanted_city = chosen_facet("city", city, choices["city"])
    wanted_language = chosen_facet("language", language, choices["language"])
    start, end = date_field("since", since), date_field("until", until)
    needle = text.strip().casefold()

    def keep(r: dict) -> bool:
        day = (r["published_on"] or r["fetched_at"].date())
        return ((not wanted_city or r["city"] == wanted_city) and (not wanted_language or r["language"] == wanted_language)
                and (not start or day >= start) and (not end or day <= end)
                and (not needle or needle in (r["title"] or "").casefold() or any(needle in u for u in r["urls"])))

    return [r for r in rows if keep(r)], choices


@router.get("/documents")
def documents_page(request: Request, me: Me = Depends(signed_in), city: str = "", language: str = "",
                   since: str = "", until: str = "", q: str = "", format: str = ""):
    export_format(format)
    with session_scope(config(request).settings.database) as session:
        rows, facets = documents(session, city, language, since, until, q)
    if format:
        return download(rows, EXPORT_COLUMNS, format, "documents")
    return render(request, "documents.html", rows=rows, facets=facets, city=city, language_filter=language,
                  since=since, until=until, q=q)


@router.get("/documents/{document_id}")
def document_page(request: Request, document_id: int, me: Me = Depends(signed_in)):
    with session_scope(config(request).settings.database) as session:
        doc = session.get(Document, document_id)
        if doc is None or not doc.snapshots:
            raise NoSuchDocument(f"#{document_id}")
        snapshots = [{"id": s.id, "url": s.url, "fetched_at": s.fetched_at, "title": s.title, "language": s.language,
                      "chars": len(s.text)} for s in doc.snapshots]
        latest = doc.snapshots[-1]
        return render(request, "document.html", doc=doc, snapshots=snapshots, latest=latest)


@router.get("/documents/{document_id}/diff")
def diff_page(request: Request, document_id: int, old: int, new: int, me: Me = Depends(signed_in)):
    with session_scope(config(request).settings.database) as session:
        pair = [session.get(Snapshot, i) for i in (old, new)]
        if any(s is None or s.document_id != document_id for s in pair):
            raise NoSuchDocument(f"#{document_id}, snapshots {old} and {new}")
        before, after = pair
        lines = coloured_diff(before.text, after.text) if before and after else []
        return render(request, "diff.html", document_id=document_id, old=before, new=after, lines=lines)


def coloured_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, line) for the changed lines and their context: kind is `add`, `del`, `hunk` or `same`."""
    out = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=DIFF_CONTEXT):
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out
