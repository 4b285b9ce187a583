"""One run per crawl scope at a time, across processes and machines.

PostgreSQL: a session advisory lock on a key derived from the scope, held by a connection kept open for the
run; the server frees it the moment the holding process (or its machine) is gone, so a second machine
never "resumes" a crawl that is still running, and resumes one that was killed. SQLite (one machine): the
record's lease row for the scope (`evidence.lease`), heart-beaten while held, taken over when stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from evidence.database import open_engine
from evidence.errors import EvidenceError
from evidence.lease import Lease


class CrawlRunning(EvidenceError):
    """Another process holds this scope's crawl."""


def _key(scope: str) -> int:
    """The advisory lock's 64-bit key (signed, as PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.sha256(f"crawl:{scope}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def scope_lock(database: str, scope: str) -> Iterator[None]:
    """Hold the crawl of `scope` (a `runs.scope_key`) for the `with` block; CrawlRunning if another holds it."""
    engine = open_engine(database)
    if engine.dialect.name != "postgresql":
        with Lease(database, f"crawl:{scope[:34]}", "crawl of this scope", CrawlRunning):
            yield
        return
    with engine.connect() as conn:
        held = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(scope)}).scalar()
        conn.commit()  # the lock is the session's: no transaction stays open for the run
        if not held:
            raise CrawlRunning("a crawl of this scope is running (another process, perhaps on another machine, "
                               "holds its lock); wait for it or stop it")
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(scope)})
                conn.commit()
            except Exception:  # the connection broke: closing it for good is what frees the lock
                conn.invalidate()
                raise
