"""The review web app assembled: FastAPI, server-rendered Jinja2 pages, a little vanilla JS for keyboard triage.

Sign-in sets a signed session cookie (Starlette's SessionMiddleware); every form carries the session's
CSRF token and a POST without it is refused. Pages: sign-in, queue, item (decide), search, progress, audit
log, assignments (authors) from the review layer; the ranking (scoring) and the watch's change report
(watch) from the layers above it, which is why the app is put together here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from app.metrics import registry_for
from app.web import ranking, watch
from evidence.database import session_scope
from evidence.settings import Settings
from review.auth import SESSION_HOURS, session_secret
from review.web import corpus, pages, queue, reports
from review.web.base import ERROR_PAGES, HERE, SECURITY_HEADERS, Config, SignInRequired, error_page, invalid_request
from review.web.drafts import keep_draft
from review.web.i18n import catalogue
from watch.report import NoSuchPass

# the layers above review add their own: a stale link to a watch pass is a page not found
APP_ERROR_PAGES = (*ERROR_PAGES, (NoSuchPass, 404, "not_found_title", None),
                   (corpus.NoSuchDocument, 404, "not_found_title", None))


def create_app(settings: Settings, weights_path: Path | None = None) -> FastAPI:
    catalogue()  # a broken message catalogue fails here, naming the key, not on some page later
    app = FastAPI(title="evidence review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = Config(settings, weights_path)
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings), session_cookie="evidence_session",
                       same_site="lax", https_only=settings.review.secure_cookie, max_age=SESSION_HOURS * 3600)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # the queue first: its `/items/next` must not be read as `/items/{proposal_id}`
    for router in (queue.router, pages.router, reports.router, corpus.router, ranking.router, watch.router):
        app.include_router(router)

    _operations(app, settings)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, _exc: SignInRequired):
        """To the sign-in page, and back here after it; a decision posted meanwhile is kept, not lost."""
        kept = await keep_draft(request, getattr(request.state, "ended_token", None))
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if kept is not None:
            back = f"/items/{kept}"
        elif request.method != "GET":
            back = "/queue"  # a form's address answers only its POST
        return RedirectResponse(f"/signin?next={quote(back, safe='/')}", status_code=303)

    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    for exc, status, title, message in APP_ERROR_PAGES:
        app.add_exception_handler(exc, error_page(status, title, message))
    return app


def _operations(app: FastAPI, settings: Settings) -> None:
    """`/health` (the app answers and its database does) and `/metrics` (Prometheus text), for the operators'
    probes and scrapers: neither needs a sign-in, and neither shows any record content."""
    registry = registry_for(settings)

    @app.get("/health")
    def health() -> PlainTextResponse:
        with session_scope(settings.database) as s:
            s.execute(text("SELECT 1"))
        return PlainTextResponse("ok\n")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
