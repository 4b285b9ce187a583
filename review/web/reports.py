"""Evidence search over the index and the review's progress (the ranking is `app.web.ranking`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from evidence.database import session_scope
from evidence.errors import DataError, EvidenceError
from frameworks import edition_ids
from review.agreement import progress
from review.web.base import config, render
from review.web.corpus import chosen_facet, date_field, facets
from review.web.export import download, export_format
from review.web.queue import editions_in_review
from review.web.session import Me, signed_in
from vectorstore.search import Filters, Hit, search

router = APIRouter()


def edition_choice(session, edition: str) -> tuple[str, list[str]]:
    """The edition a report page shows (the one asked for, else the first in review) and those to choose from."""
    known = edition_ids()
    wanted = edition.strip().lower()
    if wanted and wanted not in known:
        raise DataError("edition", edition, f"no such edition; known: {', '.join(known)}")
    reviewed = [e for e in editions_in_review(session) if e in known]
    return (wanted or (reviewed or known)[0]), (reviewed or known)


SEARCH_DEPTH = 100  # passages asked of the index per search, then grouped by document
DOCUMENTS_PER_PAGE = 10
SEARCH_EXPORT = ("document_id", "snapshot_id", "chunk_id", "city", "language", "title", "url", "snapshot_date",
                 "published_on", "score", "text")


@router.get("/search")
def search_page(request: Request, me: Me = Depends(signed_in), q: str = "", city: str = "", edition: str = "",
                evidence_language: str = Query("", alias="language"), since: str = "", until: str = "",
                page: int = 1, format: str = ""):
    export_format(format)
    settings = config(request).settings
    with session_scope(settings.database) as session:
        choices = facets(session)
    filters = Filters(city=chosen_facet("city", city, choices["city"]), edition=edition or None,
                      language=chosen_facet("language", evidence_language, choices["language"]),
                      since=date_field("since", since), until=date_field("until", until))
    hits, error = [], None
    if q.strip():
        try:
            hits = search(settings, q, k=SEARCH_DEPTH, filters=filters)
        except EvidenceError as e:
            error = str(e)
        except Exception as e:  # an index that was never built: say so rather than fail the page
            error = f"{type(e).__name__}: {e}"
    if format:
        return download([{c: getattr(h, c) for c in SEARCH_EXPORT} for h in hits], SEARCH_EXPORT, format, "search")
    groups = by_document(hits)
    page = max(1, page)
    shown = groups[(page - 1) * DOCUMENTS_PER_PAGE:page * DOCUMENTS_PER_PAGE]
    return render(request, "search.html", q=q, city=city, edition=edition, language_filter=evidence_language,
                  since=since, until=until, facets=choices, error=error, page=page, hits_count=len(hits),
                  documents_count=len(groups), pages=(len(groups) + DOCUMENTS_PER_PAGE - 1) // DOCUMENTS_PER_PAGE,
                  groups=[(first, [(h, _segments(h.text, h.highlights)) for h in group]) for first, group in shown])


def by_document(hits: list[Hit]) -> list[tuple[Hit, list[Hit]]]:
    """Hits grouped by document in the order of each document's best hit; overlapping chunks of one
    snapshot are shown once (the better one)."""
    groups: dict[int | str, list[Hit]] = {}
    for hit in hits:
        group = groups.setdefault(hit.document_id if hit.document_id is not None else hit.url, [])
        if not any(h.snapshot_id == hit.snapshot_id and h.start < hit.end and hit.start < h.end for h in group):
            group.append(hit)
    return [(group[0], group) for group in groups.values()]


def _segments(text: str, highlights: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The passage cut into (text, is_match) pieces, so the template marks matches without raw HTML."""
    out, at = [], 0
    for start, end in sorted(highlights):
        if start < at:
            continue
        out += [(text[at:start], False), (text[start:end], True)]
        at = end
    return [*out, (text[at:], False)]


@router.get("/progress")
def progress_page(request: Request, me: Me = Depends(signed_in), edition: str = ""):
    with session_scope(config(request).settings.database) as session:
        chosen, editions = edition_choice(session, edition)
        state = progress(session, chosen)
    return render(request, "progress.html", state=state, editions=editions, edition=chosen)
