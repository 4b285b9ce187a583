"""Nothing typed is lost when a session ends: a decision posted after the session expired (or was ended)
is kept as a draft in the record, and finished when the same reviewer signs in again; if it cannot be
(someone decided meanwhile, a rule refuses it), the item opens with the typed entries back in the form.

Only a form that carries the session's CSRF token is kept, so a forged post cannot plant a decision for
the next sign-in. An uploaded file is not kept (it never reached the server); the page says so.
"""

from __future__ import annotations

import re
import secrets

from fastapi import Request
from sqlalchemy import delete, select

from evidence.database import session_scope
from evidence.record import DecisionDraft
from review.auth import csrf_matches, session_owner, token_digest
from review.web.base import config

DECIDE_PATH = re.compile(r"^/items/(\d+)/decide$")
KEPT_FIELDS = ("action", "level", "reason", "url", "version")
MAX_FIELD = 20_000  # characters kept of one field (a reason is prose, not a document)


async def keep_draft(request: Request, owner_token: str | None) -> int | None:
    """Keep the decision this POST carried, if it is one; returns its item's id (None: nothing kept)."""
    match = DECIDE_PATH.match(request.url.path)
    if request.method != "POST" or match is None:
        return None
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token", ""))):
        return None
    with session_scope(config(request).settings.database) as session:
        owner = session_owner(session, owner_token)
        if owner is None:
            return None
        token = secrets.token_urlsafe(32)
        fields: dict[str, str | bool] = {k: str(form.get(k, ""))[:MAX_FIELD] for k in KEPT_FIELDS}
        fields["file_dropped"] = bool(getattr(form.get("file"), "filename", ""))
        session.add(DecisionDraft(id=token_digest(token), reviewer_id=owner, proposal_id=int(match.group(1)),
                                  fields=fields))
    request.session["draft"] = token
    return int(match.group(1))


def draft_for(request: Request, reviewer_id: int, proposal_id: int | None = None) -> DecisionDraft | None:
    """This browser's kept draft, if it belongs to `reviewer_id` (and to `proposal_id`, when given)."""
    token = request.session.get("draft")
    if not token:
        return None
    with session_scope(config(request).settings.database) as session:
        draft = session.scalar(select(DecisionDraft).where(DecisionDraft.id == token_digest(token)))
        if draft is None or draft.reviewer_id != reviewer_id:
            return None
        if proposal_id is not None and draft.proposal_id != proposal_id:
            return None
        session.expunge(draft)
        return draft


def drop_draft(request: Request) -> None:
    token = request.session.pop("draft", None)
    if token:
        with session_scope(config(request).settings.database) as session:
            session.execute(delete(DecisionDraft).where(DecisionDraft.id == token_digest(token)))
