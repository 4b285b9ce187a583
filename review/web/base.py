"""What the review app's views share: the templates and `render`, the app's configuration, the
exceptions the views raise and the error pages that answer them. The app is assembled by `app.web`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from evidence.errors import DataError, DataErrors
from evidence.settings import Settings
from review.assignments import Forbidden
from review.auth import SignInGuard
from review.decisions import NoSuchItem
from review.web.i18n import DIRECTION, HTML_LANG, NAMES, catalogue, pick_language, translator

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
    guard: SignInGuard = field(init=False)  # this app's sign-in limits (review.auth)

    def __post_init__(self) -> None:
        object.__setattr__(self, "guard", SignInGuard(self.settings.review))


class SignInRequired(Exception):
    """Raised by pages that need a signed-in reviewer; answered with a redirect to the sign-in page."""


class CsrfRejected(Exception):
    """A POST whose form did not carry this session's CSRF token."""


templates = Jinja2Templates(directory=HERE / "templates")


def render(request: Request, template: str, status_code: int = 200, /, **context) -> HTMLResponse:
    lang = language(request)
    session = request.scope.get("session", {})
    flash = session.pop("flash", None) if "session" in request.scope else None
    undo = session.pop("undo", None) if "session" in request.scope else None  # the last decision, to take back
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    base = {"t": translator(lang), "lang": lang, "me": getattr(request.state, "me", None),
            "csrf": session.get("csrf", ""), "flash": flash, "undo": undo, "path": request.url.path, "here": here,
            "languages": NAMES, "direction": DIRECTION.get(lang, "ltr"), "html_lang": HTML_LANG.get(lang, lang)}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def language(request: Request) -> str:
    return pick_language(request.cookies.get("lang"), request.headers.get("accept-language"))


def config(request: Request) -> Config:
    return request.app.state.config


# exception -> (status, title key, message key or None for the exception's own words)
ERROR_PAGES = ((CsrfRejected, 403, "csrf_title", "csrf_message"), (Forbidden, 403, "forbidden_title", None),
               (NoSuchItem, 404, "not_found_title", None), (DataError, 400, "bad_input_title", None),
               (DataErrors, 400, "bad_input_title", None))


def explain(t, exc: Exception) -> str:
    """An error in the reader's language when the catalogue words it (EvidenceError.worded), else as raised."""
    if isinstance(exc, DataErrors):
        return "\n".join(explain(t, e) for e in exc.errors)
    key = getattr(exc, "key", None)
    return t(key, **(getattr(exc, "values", None) or {})) if key and key in catalogue() else str(exc)


def error_page(status: int, title: str, message: str | None):
    async def handler(request: Request, exc: Exception) -> HTMLResponse:
        t = translator(language(request))
        return render(request, "error.html", status, title=t(title), message=t(message) if message else explain(t, exc))

    return handler


async def invalid_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
    """A path that names nothing (`/items/abc`) is not found; a bad query or form field is bad input, named."""
    t = translator(language(request))
    problems = exc.errors()
    if any(p.get("loc", ("",))[0] == "path" for p in problems):
        return render(request, "error.html", 404, title=t("not_found_title"), message=request.url.path)
    named = "; ".join(f"{'.'.join(str(part) for part in p.get('loc', ())[1:])}: {p.get('msg', '')}" for p in problems)
    return render(request, "error.html", 400, title=t("bad_input_title"), message=named)
