"""Sign-in, the queue, one item and deciding it, the audit log and (for authors) assignments."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from evidence.database import existing, lookup, session_scope
from evidence.errors import DataError, DataErrors
from evidence.record import Reviewer
from frameworks import edition_ids
from review.assignments import Forbidden, close_assignment, open_assignments, open_assignments_for
from review.attachments import Attached, kept_file, store_file, url_evidence
from review.auth import (
    HashingBusy,
    SignInFailed,
    SignInThrottled,
    authenticate,
    change_password,
    end_sessions,
    open_sessions,
)
from review.decisions import ACTIONS, Conflict, Refused, audit_log, decide, undo
from review.item import load_item
from review.queue import next_item, resolve_filter
from review.translate import available, translate
from review.web.base import config, explain, language, render
from review.web.drafts import draft_for, drop_draft
from review.web.i18n import LANGUAGES, translator
from review.web.queue import filter_from, filter_query, item_link
from review.web.session import Me, ensure_csrf, flash, require_csrf, signed_in, start, stop

router = APIRouter()


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/queue"


# --- signing in ---------------------------------------------------------------------------------

@router.get("/signin")
def signin_page(request: Request, next: str = "/queue"):
    ensure_csrf(request)
    return render(request, "signin.html", next=_safe_next(next), draft_kept=bool(request.session.get("draft")))


@router.post("/signin")
def signin(request: Request, name: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
           next: str = Form("/queue")):
    require_csrf(request, csrf_token)
    guard, address = config(request).guard, _address(request)
    t = translator(language(request))
    try:
        guard.check(name, address)  # past the limit nothing is hashed, the right password included
        draft = request.session.get("draft")
        with guard.hashing(), session_scope(config(request).settings.database) as session:
            reviewer = authenticate(session, name, password)
            start(request, session, reviewer)
            me = Me(reviewer.id, reviewer.name, reviewer.role, tuple(reviewer.languages or ()))
        if draft:
            request.session["draft"] = draft  # a fresh session, but what was typed before it is still owed
    except SignInFailed:
        guard.failed(name, address)
        return render(request, "signin.html", 401, next=_safe_next(next), name=name, error=t("signin_failed"))
    except (SignInThrottled, HashingBusy) as e:
        return _wait(render(request, "signin.html", 429 if isinstance(e, SignInThrottled) else 503,
                            next=_safe_next(next), name=name, error=_wait_message(t, e)), e)
    guard.succeeded(name)
    return RedirectResponse(finish_draft(request, me) or _safe_next(next), status_code=303)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _wait_message(t, e: SignInThrottled | HashingBusy) -> str:
    return t("signin_throttled", seconds=e.retry_after) if isinstance(e, SignInThrottled) else t("signin_busy")


def _wait(response, e: SignInThrottled | HashingBusy):
    response.headers["Retry-After"] = str(e.retry_after if isinstance(e, SignInThrottled) else 5)
    return response


@router.post("/signout")
def signout(request: Request, csrf_token: str = Form("")):
    require_csrf(request, csrf_token)
    stop(request)
    return RedirectResponse("/signin", status_code=303)


@router.get("/password")
def password_page(request: Request, me: Me = Depends(signed_in)):
    return render(request, "password.html")


@router.post("/password")
def password_change(request: Request, me: Me = Depends(signed_in), csrf_token: str = Form(""),
                    current: str = Form(""), new: str = Form(""), repeat: str = Form("")):
    """A new password for the signed-in reviewer: every session of theirs ends, this browser gets a new one."""
    require_csrf(request, csrf_token)
    t = translator(language(request))
    guard, address = config(request).guard, _address(request)
    try:
        guard.check(me.name, address)  # a borrowed session cannot guess the password here either
        with guard.hashing(), session_scope(config(request).settings.database) as session:
            reviewer = authenticate(session, me.name, current)
            if new != repeat:
                raise DataError("password", "repeat", t("password_mismatch"))
            change_password(session, reviewer, new)
            start(request, session, reviewer)
    except SignInFailed:
        guard.failed(me.name, address)
        return render(request, "password.html", 401, error=t("password_wrong"))
    except (SignInThrottled, HashingBusy) as e:
        return _wait(render(request, "password.html", 429 if isinstance(e, SignInThrottled) else 503,
                            error=_wait_message(t, e)), e)
    except DataError as e:
        return render(request, "password.html", 400, error=explain(translator(language(request)), e))
    flash(request, t("password_changed"))
    return RedirectResponse("/queue", status_code=303)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/queue"):
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="lax",
                            secure=config(request).settings.review.secure_cookie)
    return response


@router.get("/")
def home():
    return RedirectResponse("/queue", status_code=303)


# --- one item -----------------------------------------------------------------------------------

@dataclass
class Entered:
    """What the reviewer typed, handed back after a conflict or a refusal so nothing is lost."""

    action: str = ""
    level: str = ""
    reason: str = ""
    url: str = ""
    kept: list[Attached] = field(default_factory=list)


def item_page(request: Request, me: Me, proposal_id: int, status_code: int = 200, error: str | None = None,
              conflict: Conflict | None = None, entered: Entered | None = None):
    lang = language(request)
    settings = config(request).settings
    with session_scope(settings.database) as session:
        reviewer = existing(session, Reviewer, me.id)
        view = load_item(session, proposal_id, reviewer, lang)
    translations = {p.citation_id: translate(settings, p.quote, lang) for p in view.passages
                    if available(settings) and p.language != lang}
    newer = [h for h in view.history if conflict and (h.sequence or 0) > conflict.seen]
    query = filter_query(filter_from(request.query_params))
    draft = draft_for(request, me.id, proposal_id) if entered is None else None
    if draft is not None:
        fields = draft.fields
        entered = Entered(fields.get("action", ""), fields.get("level", ""), fields.get("reason", ""), fields.get("url", ""))
    return render(request, "item.html", status_code, item=view, p=view.proposal, query=query,
                  translations=translations, error=error, conflict=conflict, newer=newer, draft=draft,
                  entered=entered or Entered(level=str(view.state.on_table)))


@router.get("/items/{proposal_id}")
def item(request: Request, proposal_id: int, me: Me = Depends(signed_in)):
    return item_page(request, me, proposal_id)


@router.post("/items/{proposal_id}/decide")
def decide_item(request: Request, proposal_id: int, me: Me = Depends(signed_in), csrf_token: str = Form(""),
                version: int | None = Form(None), action: str = Form(""), level: str = Form(""), reason: str = Form(""),
                url: str = Form(""), file: UploadFile | None = File(None), kept_file_: list[str] = Form([], alias="kept_file")):
    require_csrf(request, csrf_token)
    settings = config(request).settings
    entered = Entered(action, level, reason, url)
    try:
        if version is None:
            raise DataError("decision", "version", "missing: open the item again and decide from what it shows")
        evidence = _evidence(settings.data_dir, action, url, file, kept_file_, entered)
        with session_scope(settings.database) as session:
            reviewer = existing(session, Reviewer, me.id)
            decision = decide(session, proposal_id, reviewer, action, level=_level(level, action), reason=reason,
                              version=version, evidence=evidence)
            summary = (decision.round, decision.action, decision.level, decision.sequence)
    except Conflict as c:
        return item_page(request, me, proposal_id, 409, conflict=c, entered=entered)
    except (Refused, Forbidden) as e:
        return item_page(request, me, proposal_id, 403, error=explain(translator(language(request)), e), entered=entered)
    except (DataError, DataErrors) as e:
        return item_page(request, me, proposal_id, 400, error=explain(translator(language(request)), e), entered=entered)
    drop_draft(request)
    return RedirectResponse(_decided(request, me, proposal_id, summary), status_code=303)


def _decided(request: Request, me: Me, proposal_id: int, summary: tuple, note: str = "") -> str:
    """Say what was recorded (with an undo), and where to go: the next item of the reviewer's filter."""
    decision_round, action, level, sequence = summary
    t = translator(language(request))
    flash(request, note + t("decided", item=proposal_id, round=decision_round, action=t(f"action_{action}"),
                            level="" if level is None else level))
    if action != "attach":
        request.session["undo"] = {"item": proposal_id, "version": sequence}
    filters = filter_from(request.query_params)
    with session_scope(config(request).settings.database) as session:
        following = next_item(session, existing(session, Reviewer, me.id), proposal_id, filters, config(request).weights_path)
    return item_link(following, filters)


def finish_draft(request: Request, me: Me) -> str | None:
    """After sign-in: record the decision kept when the session had ended (review.web.drafts); where to go."""
    draft = draft_for(request, me.id)
    if draft is None:
        request.session.pop("draft", None)
        return None
    fields, t = draft.fields, translator(language(request))
    if fields.get("action") == "attach" or fields.get("file_dropped"):
        flash(request, t("draft_file_again"))
        return f"/items/{draft.proposal_id}"  # a file never reached the server: the form shows the rest
    try:
        with session_scope(config(request).settings.database) as session:
            decision = decide(session, draft.proposal_id, existing(session, Reviewer, me.id), fields.get("action", ""),
                              level=_level(fields.get("level", ""), fields.get("action", "")),
                              reason=fields.get("reason", ""), version=int(fields.get("version") or -1))
            summary = (decision.round, decision.action, decision.level, decision.sequence)
    except (Conflict, Refused, Forbidden, DataError, DataErrors) as e:
        flash(request, t("draft_not_recorded", error=explain(translator(language(request)), e)))
        return f"/items/{draft.proposal_id}"  # the item page puts the typed entries back
    drop_draft(request)
    return _decided(request, me, draft.proposal_id, summary, note=t("draft_recorded") + " ")


@router.post("/items/{proposal_id}/undo")
def undo_item(request: Request, proposal_id: int, me: Me = Depends(signed_in), csrf_token: str = Form(""),
              version: int = Form(...)):
    """Take back this reviewer's last verdict on the item (a new, audited decision) and show the item again."""
    require_csrf(request, csrf_token)
    request.session.pop("undo", None)
    try:
        with session_scope(config(request).settings.database) as session:
            undo(session, proposal_id, existing(session, Reviewer, me.id), version=version)
    except Conflict as c:
        return item_page(request, me, proposal_id, 409, conflict=c)
    except (Refused, Forbidden) as e:
        return item_page(request, me, proposal_id, 403, error=explain(translator(language(request)), e))
    flash(request, translator(language(request))("undone", item=proposal_id))
    return RedirectResponse(f"/items/{proposal_id}", status_code=303)


def _level(level: str, action: str) -> int | None:
    if action != "change" or not level.strip():
        return None
    try:
        return int(level)
    except ValueError:
        raise DataError("decision", "level", f"{level!r} is not a whole number") from None


def _evidence(data_dir, action: str, url: str, file: UploadFile | None, kept: list[str], entered: Entered) -> list[Attached]:
    """Store what is attached before deciding, so a lost conflict keeps the upload."""
    if action not in ACTIONS:
        raise DataError("decision", "action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    if action != "attach":
        return []
    evidence = [kept_file(data_dir, token) for token in kept if token]
    if file is not None and file.filename:
        evidence.append(store_file(data_dir, file.filename, file.file, file.content_type))
    entered.kept = list(evidence)
    if url.strip():
        evidence.append(url_evidence(url))
    return evidence


# --- audit log and assignments (authors) --------------------------------------------------------

def _author(me: Me, request: Request) -> None:
    if not me.author:
        raise Forbidden(translator(language(request))("authors_only"))


@router.get("/log")
def log_page(request: Request, me: Me = Depends(signed_in), item: int | None = None, edition: str = ""):
    _author(me, request)
    with session_scope(config(request).settings.database) as session:
        steps = audit_log(session, item, edition or None)
    return render(request, "log.html", steps=steps, item=item, edition=edition)


@router.get("/assignments")
def assignments_page(request: Request, me: Me = Depends(signed_in)):
    _author(me, request)
    with session_scope(config(request).settings.database) as session:
        reviewers = list(session.scalars(select(Reviewer).order_by(Reviewer.name)))
        names = {r.id: r.name for r in reviewers}
        rows = [(a, names.get(a.reviewer_id, "?")) for a in open_assignments(session)]
        sessions = {r.id: len(open_sessions(session, r)) for r in reviewers}
    return render(request, "assignments.html", reviewers=reviewers, rows=rows, editions=edition_ids(),
                  sessions=sessions)


@router.post("/reviewers/{reviewer_id}/signout")
def revoke_sessions(request: Request, reviewer_id: int, me: Me = Depends(signed_in), csrf_token: str = Form("")):
    """An author ends every session of a reviewer (their own included, if they ask)."""
    require_csrf(request, csrf_token)
    _author(me, request)
    with session_scope(config(request).settings.database) as session:
        whom = lookup(session, Reviewer, reviewer_id)
        if whom is None:
            raise DataError("reviewer", f"#{reviewer_id}", "no such reviewer")
        ended = end_sessions(session, whom, "revoked")
    flash(request, translator(language(request))("sessions_ended", count=ended, name=whom.name))
    return RedirectResponse("/assignments", status_code=303)


@router.post("/assignments")
def assign(request: Request, me: Me = Depends(signed_in), csrf_token: str = Form(""), reviewer: int = Form(...),
           edition: str = Form(...), city: list[str] = Form([]), indicator: list[str] = Form([])):
    """Open lists of cities and indicators (picked, or typed as names separated by commas) to a reviewer."""
    require_csrf(request, csrf_token)
    _author(me, request)
    cities = [resolve_filter(edition, city=name).city for name in _listed(city)]
    indicators = [resolve_filter(edition, indicator=name).indicator for name in _listed(indicator)]
    with session_scope(config(request).settings.database) as session:
        whom = lookup(session, Reviewer, reviewer)
        if whom is None:
            raise DataError("assignment", "reviewer", f"no reviewer #{reviewer}")
        opened = open_assignments_for(session, whom, edition, existing(session, Reviewer, me.id),
                                      [c for c in cities if c], [i for i in indicators if i])
    flash(request, translator(language(request))("assignments_opened", count=len(opened), name=whom.name))
    return RedirectResponse("/assignments", status_code=303)


def _listed(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@router.post("/assignments/{assignment_id}/close")
def unassign(request: Request, assignment_id: int, me: Me = Depends(signed_in), csrf_token: str = Form("")):
    require_csrf(request, csrf_token)
    _author(me, request)
    with session_scope(config(request).settings.database) as session:
        close_assignment(session, assignment_id, existing(session, Reviewer, me.id))
    return RedirectResponse("/assignments", status_code=303)
