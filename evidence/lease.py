"""Named leases in the record: one holder at a time per name, on SQLite and PostgreSQL alike.

A row (primary key = the lease's name, in `watch_locks`) can be inserted by one session only. It is
heart-beaten while held; a holder whose process is gone (same host) or whose heartbeat stopped long ago is
stale: the next taker removes exactly that holder's row and takes the lease. The watch holds one per data
set, a crawl one per scope (on SQLite: on PostgreSQL a crawl holds an advisory lock, `collector.scope_lock`).
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from evidence.database import session_scope
from evidence.errors import EvidenceError
from evidence.record import WatchLock, now

HEARTBEAT = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=10)  # heartbeats missed this long: the holder is dead (another host)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent has not reaped it yet
        return "\nState:\tZ" not in open(f"/proc/{pid}/status").read()
    except OSError:
        return True


def stale(holder: WatchLock, host: str) -> bool:
    if holder.host == host and not pid_alive(holder.pid):
        return True
    return now() - aware(holder.heartbeat_at) > STALE_AFTER


class Lease:
    """`with Lease(database, name):` holds the lease for this process; `.recovered` names a stale holder taken
    over. `busy` is raised (with `what` in its message) when a live holder has it."""

    def __init__(self, database: str, name: str, what: str, busy: type[EvidenceError] = EvidenceError) -> None:
        self.database, self.name, self.what, self.busy = database, name, what, busy
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.recovered: dict | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        self._beat = threading.Thread(target=self._heartbeat, name=f"{self.name}-heartbeat", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join()
        self.release()

    def acquire(self) -> None:
        if self._insert():
            return
        with session_scope(self.database) as s:
            holder = s.get(WatchLock, self.name)
            if holder is not None and not stale(holder, self.host):
                raise self.busy(f"another {self.what} is running (pid {holder.pid} on {holder.host}, since "
                                f"{aware(holder.acquired_at):%Y-%m-%d %H:%M} UTC); this one does not start")
            if holder is not None:  # remove exactly the stale holder: a concurrent taker removes nothing
                self.recovered = {"pid": holder.pid, "host": holder.host, "pass": holder.pass_id}
                s.execute(delete(WatchLock).where(WatchLock.name == self.name, WatchLock.pid == holder.pid,
                                                  WatchLock.acquired_at == holder.acquired_at))
        if not self._insert():
            raise self.busy(f"another {self.what} took the stale lock first; this one does not start")

    def _insert(self) -> bool:
        try:
            with session_scope(self.database) as s:
                s.add(WatchLock(name=self.name, pid=self.pid, host=self.host))
            return True
        except IntegrityError:
            return False

    def mark(self, pass_id: int) -> None:
        self._update(pass_id=pass_id)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT.total_seconds()):
            self._update(heartbeat_at=now())

    def _update(self, **values) -> None:
        with session_scope(self.database) as s:
            s.execute(update(WatchLock).where(WatchLock.name == self.name, WatchLock.pid == self.pid,
                                              WatchLock.host == self.host).values(**values))

    def release(self) -> None:
        with session_scope(self.database) as s:
            s.execute(delete(WatchLock).where(WatchLock.name == self.name, WatchLock.pid == self.pid,
                                              WatchLock.host == self.host))
