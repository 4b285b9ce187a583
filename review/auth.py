"""Reviewer accounts, passwords (Argon2id), the session secret and CSRF tokens.

Sessions are signed cookies (Starlette's SessionMiddleware, itsdangerous): they hold the reviewer id,
a fingerprint of the password hash (so changing a password signs every old session out) and the
session's CSRF token, which every form posts back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.database import refuse_nul
from evidence.errors import DataError, EvidenceError
from evidence.record import Reviewer
from evidence.settings import Settings

ROLES = ("reviewer", "author")
_hasher = PasswordHasher()


class SignInFailed(EvidenceError):
    """Wrong name or password (deliberately not saying which)."""


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise DataError("password", "", "too short: use at least 4 characters")
    return _hasher.hash(password)


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
    if reviewer is None or not reviewer.password_hash:
        _hasher.hash(password)  # same cost as a real check, so timing does not reveal the names
        raise SignInFailed("wrong name or password")
    try:
        _hasher.verify(reviewer.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise SignInFailed("wrong name or password") from None
    if _hasher.check_needs_rehash(reviewer.password_hash):
        reviewer.password_hash = _hasher.hash(password)
    return reviewer


def fingerprint(reviewer: Reviewer) -> str:
    """A short digest of the password hash, kept in the session: a new password ends old sessions."""
    return hashlib.sha256((reviewer.password_hash or "").encode()).hexdigest()[:16]


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
