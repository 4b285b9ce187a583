"""Who is signed in, and the CSRF check every POST goes through."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from evidence.database import session_scope
from evidence.record import Reviewer
from review.auth import csrf_matches, fingerprint, new_csrf_token
from review.web.base import CsrfRejected, SignInRequired, config


@dataclass(frozen=True)
class Me:
    id: int
    name: str
    role: str
    languages: tuple[str, ...]

    @property
    def author(self) -> bool:
        return self.role == "author"


def signed_in(request: Request) -> Me:
    """The reviewer of this session (FastAPI dependency); a changed password ends the session."""
    reviewer_id = request.session.get("reviewer_id")
    if not reviewer_id:
        raise SignInRequired()
    with session_scope(config(request).settings.database) as session:
        reviewer = session.get(Reviewer, reviewer_id)
        if reviewer is None or fingerprint(reviewer) != request.session.get("fp"):
            request.session.clear()
            raise SignInRequired()
        me = Me(reviewer.id, reviewer.name, reviewer.role, tuple(reviewer.languages or ()))
    request.state.me = me
    return me


def start(request: Request, reviewer: Reviewer) -> None:
    """A fresh session for a reviewer who just signed in (a new CSRF token, nothing carried over)."""
    request.session.clear()
    request.session.update(reviewer_id=reviewer.id, fp=fingerprint(reviewer), csrf=new_csrf_token())


def ensure_csrf(request: Request) -> str:
    if not request.session.get("csrf"):
        request.session["csrf"] = new_csrf_token()
    return request.session["csrf"]


def require_csrf(request: Request, token: str | None) -> None:
    if not csrf_matches(request.session.get("csrf"), token):
        raise CsrfRejected()


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message
