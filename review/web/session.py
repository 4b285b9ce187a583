"""Who is signed in, and the CSRF check every POST goes through."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from evidence.database import session_scope
from evidence.record import Reviewer
from review.auth import csrf_matches, end_session, new_csrf_token, open_session, session_reviewer
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
    """The reviewer of this session (FastAPI dependency): its record must be open (not signed out, revoked,
    expired, ended by a password change) and its reviewer not disabled."""
    token = request.session.get("sid")
    if not token:
        raise SignInRequired()
    with session_scope(config(request).settings.database) as session:
        reviewer = session_reviewer(session, token)
        if reviewer is None:
            request.state.ended_token = request.session.pop("sid", None)  # whose it was: review.web.drafts
            raise SignInRequired()
        me = Me(reviewer.id, reviewer.name, reviewer.role, tuple(reviewer.languages or ()))
    request.state.me = me
    return me


def start(request: Request, session, reviewer: Reviewer) -> None:
    """A fresh session for a reviewer who just signed in (a new record, a new CSRF token, nothing carried over)."""
    token = open_session(session, reviewer, request.client.host if request.client else None)
    request.session.clear()
    request.session.update(sid=token, csrf=new_csrf_token())


def stop(request: Request) -> None:
    """Sign out: the session's record ends (a copy of the cookie signs nobody in) and the cookie is emptied."""
    token = request.session.get("sid")
    if token:
        with session_scope(config(request).settings.database) as session:
            end_session(session, token)
    request.session.clear()


def ensure_csrf(request: Request) -> str:
    if not request.session.get("csrf"):
        request.session["csrf"] = new_csrf_token()
    return request.session["csrf"]


def require_csrf(request: Request, token: str | None) -> None:
    if not csrf_matches(request.session.get("csrf"), token):
        raise CsrfRejected()


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message
