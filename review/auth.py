"""Reviewer accounts, passwords (Argon2id), sign-in sessions, the session secret and CSRF tokens.

The cookie is signed (Starlette's SessionMiddleware, itsdangerous) and holds a random session token and
the session's CSRF token, which every form posts back. The token's SHA-256 is a row of `review_sessions`:
a session is valid while that row is neither ended nor expired and its reviewer is not disabled, so
signing out, a password change, `evidence reviewers disable` and `evidence reviewers signout` end it on
the server, and a copied cookie stops working with it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from evidence.database import refuse_nul
from evidence.errors import DataError, EvidenceError
from evidence.record import Reviewer, ReviewSession, now
from evidence.settings import Review, Settings

ROLES = ("reviewer", "author")
SESSION_HOURS = 12  # a session ends this long after sign-in, used or not
MIN_PASSWORD = 12
HASHING_WAIT = 10.0  # seconds a sign-in waits for its turn to hash before it is told the server is busy
TRACKED = 10_000  # names and addresses whose failures are remembered (the oldest are forgotten first)
_hasher = PasswordHasher()


class SignInFailed(EvidenceError):
    """Wrong name or password (deliberately not saying which)."""


class SignInThrottled(EvidenceError):
    """Too many failed sign-ins for this account or from this address: wait `retry_after` seconds."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed sign-ins: try again in {self.retry_after} s")


class HashingBusy(EvidenceError):
    """Every password-hashing slot stayed taken for HASHING_WAIT seconds."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise DataError("password", "", f"too short: use at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


class SignInGuard:
    """Sign-in limits of one app: failed sign-ins are counted per account and per client address over a
    sliding window (past the limit, even the right password waits: nothing is hashed), and at most
    `hashing` Argon2id computations run at once (64 MiB each), so a burst of sign-ins cannot exhaust memory.
    The counts live in this process (`evidence serve` runs one) and start afresh when it restarts."""

    def __init__(self, limits: Review):
        self.limits = limits
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limits.hashing)
        self.hashing_now = self.hashing_peak = 0

    def _recent(self, key: tuple[str, str], at: float) -> deque[float]:
        times = self._failures.get(key) or deque()
        while times and times[0] <= at - self.limits.signin_window:
            times.popleft()
        return times

    def check(self, name: str, address: str | None) -> None:
        """SignInThrottled when the account or the address has failed too often within the window."""
        at = time.monotonic()
        with self._lock:
            for key, limit in ((("account", name.strip()), self.limits.signin_failures),
                               (("address", address or "?"), self.limits.address_failures)):
                times = self._recent(key, at)
                if len(times) >= limit:
                    raise SignInThrottled(times[len(times) - limit] + self.limits.signin_window - at)

    def failed(self, name: str, address: str | None) -> None:
        at = time.monotonic()
        with self._lock:
            for key in (("account", name.strip()), ("address", address or "?")):
                times = self._recent(key, at)
                times.append(at)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > TRACKED:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("account", name.strip()), None)

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """A slot to hash a password in; HashingBusy after HASHING_WAIT seconds without one."""
        if not self._slots.acquire(timeout=HASHING_WAIT):
            raise HashingBusy("the server is busy signing others in: try again in a moment")
        with self._lock:
            self.hashing_now += 1
            self.hashing_peak = max(self.hashing_peak, self.hashing_now)
        try:
            yield
        finally:
            with self._lock:
                self.hashing_now -= 1
            self._slots.release()


def add_reviewer(session: Session, name: str, password: str, role: str = "reviewer",
                 languages: list[str] | None = None, email: str | None = None) -> Reviewer:
    """Create an account; languages are the ISO 639-1 codes of the evidence this reviewer can read."""
    import pycountry

    name = name.strip()
    refuse_nul("reviewer", "name", name)
    refuse_nul("reviewer", "email", email)
    if not name:
        raise DataError("reviewer", "name", "empty")
    if role not in ROLES:
        raise DataError("reviewer", "role", f"{role!r} is not one of {', '.join(ROLES)}")
    codes = [c.strip().lower() for c in (languages or []) if c.strip()]
    unknown = [c for c in codes if pycountry.languages.get(alpha_2=c) is None]
    if unknown:
        raise DataError("reviewer", "languages", f"not ISO 639-1 codes: {', '.join(unknown)}")
    if session.scalar(select(Reviewer).where(Reviewer.name == name)) is not None:
        raise DataError("reviewer", "name", f"a reviewer named {name!r} already exists")
    reviewer = Reviewer(name=name, role=role, languages=codes, email=email, password_hash=hash_password(password))
    session.add(reviewer)
    session.flush()
    return reviewer


def authenticate(session: Session, name: str, password: str) -> Reviewer:
    # a NUL cannot be in a stored name (PostgreSQL refuses the very query): no such reviewer
    reviewer = None if "\x00" in name else session.scalar(select(Reviewer).where(Reviewer.name == name.strip()))
    if reviewer is None or not reviewer.password_hash or reviewer.disabled_at is not None:
        _hasher.hash(password)  # same cost as a real check, so timing does not reveal the names
        raise SignInFailed("wrong name or password")
    try:
        _hasher.verify(reviewer.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise SignInFailed("wrong name or password") from None
    if _hasher.check_needs_rehash(reviewer.password_hash):
        reviewer.password_hash = _hasher.hash(password)
    return reviewer


def reviewer_named(session: Session, name: str) -> Reviewer:
    reviewer = session.scalar(select(Reviewer).where(Reviewer.name == name.strip()))
    if reviewer is None:
        raise DataError("reviewer", name, "no such reviewer; add one with `evidence reviewers add`")
    return reviewer


# --- sessions ---------------------------------------------------------------------------------------

def token_digest(token: str) -> str:
    """What the record keeps of a cookie's random token (session, draft): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, reviewer: Reviewer, address: str | None = None) -> str:
    """A new sign-in session for `reviewer`; returns the token for the cookie (the record keeps its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(ReviewSession(id=token_digest(token), reviewer_id=reviewer.id, address=(address or "")[:64] or None,
                              expires_at=now() + timedelta(hours=SESSION_HOURS)))
    session.flush()
    return token


def session_reviewer(session: Session, token: str | None) -> Reviewer | None:
    """The reviewer a cookie's token signs in: none when the session ended, expired or the account is disabled."""
    if not token or not isinstance(token, str):
        return None
    row = session.scalar(select(ReviewSession).where(ReviewSession.id == token_digest(token),
                                                     ReviewSession.ended_at.is_(None), ReviewSession.expires_at > now()))
    if row is None:
        return None
    reviewer = session.get(Reviewer, row.reviewer_id)
    return reviewer if reviewer is not None and reviewer.disabled_at is None else None


def session_owner(session: Session, token: str | None) -> int | None:
    """The reviewer a cookie's token was issued to, whether or not its session is still open (for keeping
    what they typed when it had ended: review.web.drafts)."""
    if not token or not isinstance(token, str):
        return None
    return session.scalar(select(ReviewSession.reviewer_id).where(ReviewSession.id == token_digest(token)))


def end_session(session: Session, token: str | None, why: str = "signed-out") -> None:
    if token and isinstance(token, str):
        session.execute(update(ReviewSession).where(ReviewSession.id == token_digest(token),
                                                    ReviewSession.ended_at.is_(None)).values(ended_at=now(), ended_why=why))


def end_sessions(session: Session, reviewer: Reviewer, why: str) -> int:
    """End every open session of `reviewer` (on every browser); returns how many were open."""
    result = session.execute(update(ReviewSession).where(ReviewSession.reviewer_id == reviewer.id,
                                                         ReviewSession.ended_at.is_(None))
                             .values(ended_at=now(), ended_why=why))
    return int(getattr(result, "rowcount", 0) or 0)


def open_sessions(session: Session, reviewer: Reviewer) -> list[ReviewSession]:
    return list(session.scalars(select(ReviewSession).where(ReviewSession.reviewer_id == reviewer.id,
                                                            ReviewSession.ended_at.is_(None),
                                                            ReviewSession.expires_at > now())
                                .order_by(ReviewSession.created_at)))


def change_password(session: Session, reviewer: Reviewer, password: str) -> int:
    """Set a new password; every session of the reviewer ends (returns how many)."""
    reviewer.password_hash = hash_password(password)
    return end_sessions(session, reviewer, "password-changed")


def disable_reviewer(session: Session, reviewer: Reviewer) -> int:
    """The reviewer can no longer sign in and every session ends (decisions made stay); returns the sessions ended."""
    if reviewer.disabled_at is None:
        reviewer.disabled_at = now()
    return end_sessions(session, reviewer, "disabled")


def enable_reviewer(reviewer: Reviewer) -> None:
    reviewer.disabled_at = None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def session_secret(settings: Settings) -> str:
    """The session_secret setting, else a random key kept (owner-only) in the data directory."""
    if settings.session_secret:
        return settings.session_secret.get_secret_value()
    path = settings.data_dir / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".session.key.")  # created owner-only
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # atomic: of two processes starting at once, one key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
