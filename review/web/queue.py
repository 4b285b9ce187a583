"""The queue in the browser: one page at a time, filtered by facets, sorted, downloadable; the next item
after a decision follows the reviewer's filter; a bulk accept of a filtered set behind a confirmation.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.datastructures import QueryParams

from evidence.database import existing, session_scope
from evidence.errors import DataError
from evidence.record import Proposal, Reviewer
from review.assignments import Forbidden
from review.decisions import STATUSES, Conflict, Refused, decide
from review.queue import FACETS, SORTS, QueueFilter, QueueItem, next_item, queue_page, resolve_filter
from review.web.base import config, language, render
from review.web.export import download, export_format
from review.web.i18n import translator
from review.web.session import Me, flash, require_csrf, signed_in

router = APIRouter()
FILTER_FIELDS = ("edition", "city", "indicator", "language", "status", "everything", "min_confidence", "sort")
EXPORT_COLUMNS = ("id", "edition", "city", "indicator", "level", "on_table", "method", "confidence", "languages",
                  "status", "round", "round_1_level", "evidence_changed", "reasons", "priority")


def filter_from(params: QueryParams) -> QueueFilter:
    """The queue filter a page or form carries in its query string (the same fields everywhere)."""
    confidence = params.get("min_confidence", "").strip()
    try:
        minimum = float(confidence) if confidence else None
    except ValueError:
        raise DataError("queue", "min_confidence", f"{confidence!r} is not a number from 0 to 1") from None
    return resolve_filter(params.get("edition", ""), params.get("city", ""), params.get("indicator", ""),
                          params.get("language", ""), status=params.get("status", "open") or "open",
                          actionable=params.get("everything", "") not in ("true", "1", "on"),
                          min_confidence=minimum, sort=params.get("sort", "priority") or "priority")


def filter_query(filters: QueueFilter) -> str:
    """`filters` as a query string (empty for the default queue), for links that keep the reviewer's filter."""
    fields = {"edition": filters.edition, "city": filters.city, "indicator": filters.indicator,
              "language": filters.language, "status": None if filters.status == "open" else filters.status,
              "everything": None if filters.actionable else "true",
              "min_confidence": filters.min_confidence, "sort": None if filters.sort == "priority" else filters.sort}
    return urlencode({k: v for k, v in fields.items() if v is not None})


def export_row(i: QueueItem) -> dict:
    return {"id": i.id, "edition": i.edition, "city": i.city, "indicator": i.indicator, "level": i.level,
            "on_table": i.state.on_table, "method": i.method, "confidence": i.confidence, "languages": list(i.languages),
            "status": i.status, "round": i.state.round, "round_1_level": i.state.levels.get(1),
            "evidence_changed": i.evidence_changed, "reasons": list(i.reasons), "priority": i.priority}


@router.get("/queue")
def queue(request: Request, me: Me = Depends(signed_in), page: int = 1, format: str = ""):
    export_format(format)
    filters = filter_from(request.query_params)
    settings = config(request).settings
    size = 10 ** 9 if format else settings.review.queue_page_size
    with session_scope(settings.database) as session:
        reviewer = existing(session, Reviewer, me.id)
        shown = queue_page(session, reviewer, filters, page, size, config(request).weights_path)
        editions = editions_in_review(session)
    if format:
        return download([export_row(i) for i in shown.items], EXPORT_COLUMNS, format, "queue")
    return render(request, "queue.html", shown=shown, items=shown.items, filters=filters, editions=editions,
                  statuses=("open", "all", *STATUSES), sorts=SORTS, facets=FACETS, query=filter_query(filters))


def editions_in_review(session) -> list[str]:
    return sorted(session.scalars(select(Proposal.edition).distinct()))


@router.get("/items/next")
def following(request: Request, after: int = 0, me: Me = Depends(signed_in)):
    """The next item of the reviewer's filtered queue after `after` (the item page's "next" link)."""
    filters = filter_from(request.query_params)
    with session_scope(config(request).settings.database) as session:
        found = next_item(session, existing(session, Reviewer, me.id), after, filters, config(request).weights_path)
    return RedirectResponse(item_link(found, filters), status_code=303)


def item_link(item: int | None, filters: QueueFilter) -> str:
    query = filter_query(filters)
    if item is None:
        return "/queue" + (f"?{query}" if query else "")
    return f"/items/{item}" + (f"?{query}" if query else "")


# --- bulk accept --------------------------------------------------------------------------------------

def _acceptable(session, me: Me, filters: QueueFilter, request: Request) -> list[QueueItem]:
    """What a bulk accept of this filter would decide: the reviewer's actionable, open items."""
    reviewer = existing(session, Reviewer, me.id)
    wanted = QueueFilter(filters.edition, filters.city, filters.indicator, filters.language, filters.status,
                         True, filters.min_confidence, filters.sort)
    shown = queue_page(session, reviewer, wanted, 1, 10 ** 9, config(request).weights_path)
    return [i for i in shown.items if not i.state.closed and i.state.round < 3]


@router.get("/queue/accept")
def bulk_confirm(request: Request, me: Me = Depends(signed_in)):
    filters = filter_from(request.query_params)
    limit = config(request).settings.review.bulk_limit
    with session_scope(config(request).settings.database) as session:
        items = _acceptable(session, me, filters, request)
    return render(request, "bulk.html", items=items, filters=filters, query=filter_query(filters), limit=limit,
                  too_many=len(items) > limit)


@router.post("/queue/accept")
def bulk_accept(request: Request, me: Me = Depends(signed_in), csrf_token: str = Form(""),
                item: list[str] = Form([]), count: int = Form(-1)):
    """Accept exactly the items the confirmation listed, each at the version it showed: an item decided
    by someone else since then is left for a look (a conflict), never decided over."""
    require_csrf(request, csrf_token)
    t = translator(language(request))
    pairs = [_pair(v) for v in item]
    limit = config(request).settings.review.bulk_limit
    if count != len(pairs) or not pairs:
        raise DataError("bulk accept", "count", f"the confirmation listed {count} items, the form carries {len(pairs)}")
    if len(pairs) > limit:
        raise DataError("bulk accept", "items", f"{len(pairs)} items: at most {limit} at once (setting review.bulk_limit)")
    done, skipped = 0, []
    for proposal_id, version in pairs:
        try:
            with session_scope(config(request).settings.database) as session:
                decide(session, proposal_id, existing(session, Reviewer, me.id), "accept", version=version)
            done += 1
        except (Conflict, Refused, Forbidden) as e:
            skipped.append(f"#{proposal_id}: {e}")
    flash(request, t("bulk_done", done=done, skipped=len(skipped)) + ("" if not skipped else " " + "; ".join(skipped[:5])))
    return RedirectResponse(item_link(None, filter_from(request.query_params)), status_code=303)


def _pair(value: str) -> tuple[int, int]:
    proposal_id, _, version = value.partition(":")
    if not (proposal_id.isdigit() and version.isdigit()):
        raise DataError("bulk accept", "item", f"{value!r} is not item:version")
    return int(proposal_id), int(version)
