"""One pass at a time per data set: the `watch` lease in the record (`evidence.lease`), heart-beaten while
held, taken over when stale."""

from __future__ import annotations

from sqlalchemy import select

from evidence.database import session_scope
from evidence.errors import EvidenceError
from evidence.lease import Lease, aware
from evidence.record import WatchLock

NAME = "watch"
__all__ = ["NAME", "PassLock", "WatchBusy", "aware", "holder"]


class WatchBusy(EvidenceError):
    """Another pass holds the lock."""


class PassLock(Lease):
    """`with PassLock(database):` holds the watch lock for this process; `.recovered` names a stale holder."""

    def __init__(self, database: str) -> None:
        super().__init__(database, NAME, "watch pass", WatchBusy)


def holder(database: str) -> WatchLock | None:
    with session_scope(database) as s:
        return s.scalars(select(WatchLock).where(WatchLock.name == NAME)).first()
