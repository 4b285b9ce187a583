"""Evidence search over the index and the review's progress (the ranking is `app.web.ranking`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from evidence.database import session_scope
from evidence.errors import EvidenceError
from frameworks import edition_ids
from review.agreement import progress
from review.web.base import config, render
from review.web.pages import editions_in_review
from review.web.session import Me, signed_in

router = APIRouter()


def edition_choice(session, edition: str) -> tuple[str, list[str]]:
    """The edition a report page shows (the one asked for, else the first in review) and those to choose from."""
    known = edition_ids()
    reviewed = [e for e in editions_in_review(session) if e in known]
    return (edition if edition in known else (reviewed or known)[0]), (reviewed or known)


@router.get("/search")
def search_page(request: Request, me: Me = Depends(signed_in), q: str = "", city: str = "", edition: str = "",
                evidence_language: str = Query("", alias="language")):
    hits, error = [], None
    if q.strip():
        from vectorstore.search import Filters, search

        filters = Filters(city=city or None, edition=edition or None, language=evidence_language or None)
        try:
            hits = search(config(request).settings, q, k=20, filters=filters)
        except EvidenceError as e:
            error = str(e)
        except Exception as e:  # an index that was never built: say so rather than fail the page
            error = f"{type(e).__name__}: {e}"
    return render(request, "search.html", q=q, city=city, edition=edition, language_filter=evidence_language,
                  hits=[(h, _segments(h.text, h.highlights)) for h in hits], error=error)


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
