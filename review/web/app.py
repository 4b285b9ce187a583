"""The review web app: FastAPI, server-rendered Jinja2 pages, a little vanilla JS for keyboard triage.

Sign-in sets a signed session cookie (Starlette's SessionMiddleware); every form carries the
session's CSRF token and a POST without it is refused. Pages: sign-in, queue, item (decide), search,
ranking, progress, audit log, assignments (authors).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from evidence.errors import DataError, DataErrors
from evidence.settings import Settings
from review.assignments import Forbidden
from review.auth import session_secret
from review.decisions import NoSuchItem
from review.web.i18n import catalogue, pick_language, translator

HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class Config:
    settings: Settings
    weights_path: Path | None = None


class SignInRequired(Exception):
    """Raised by pages that need a signed-in reviewer; answered with a redirect to the sign-in page."""


class CsrfRejected(Exception):
    """A POST whose form did not carry this session's CSRF token."""


templates = Jinja2Templates(directory=HERE / "templates")


def render(request: Request, template: str, status_code: int = 200, /, **context) -> HTMLResponse:
    lang = language(request)
    session = request.scope.get("session", {})
    flash = session.pop("flash", None) if "session" in request.scope else None
    base = {"t": translator(lang), "lang": lang, "me": getattr(request.state, "me", None),
            "csrf": session.get("csrf", ""), "flash": flash, "path": request.url.path}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def language(request: Request) -> str:
    return pick_language(request.cookies.get("lang"), request.headers.get("accept-language"))


def config(request: Request) -> Config:
    return request.app.state.config


# exception -> (status, title key, message key or None for the exception's own words)
ERROR_PAGES = ((CsrfRejected, 403, "csrf_title", "csrf_message"), (Forbidden, 403, "forbidden_title", None),
               (NoSuchItem, 404, "not_found_title", None), (DataError, 400, "bad_input_title", None),
               (DataErrors, 400, "bad_input_title", None))


def _error_page(status: int, title: str, message: str | None):
    async def handler(request: Request, exc: Exception) -> HTMLResponse:
        t = translator(language(request))
        return render(request, "error.html", status, title=t(title), message=t(message) if message else str(exc))

    return handler


def create_app(settings: Settings, weights_path: Path | None = None) -> FastAPI:
    from review.web import pages, reports, watch

    catalogue()  # a broken message catalogue fails here, naming the key, not on some page later
    app = FastAPI(title="evidence review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = Config(settings, weights_path)
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.data_dir), session_cookie="evidence_session",
                       same_site="lax", https_only=False, max_age=12 * 3600)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(reports.router)
    app.include_router(watch.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, _exc: SignInRequired):
        return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)

    for exc, status, title, message in ERROR_PAGES:
        app.add_exception_handler(exc, _error_page(status, title, message))
    return app
