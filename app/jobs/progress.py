"""The jobs table as a distributed run's progress: a row per task, written by the workers, read by the command
that enqueued them (a progress bar per kind of task, then a table of what each task did)."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.database import session_scope
from evidence.record import Job, now

FINISHED = ("done", "failed")
POLL_SECONDS = 0.5


def new_batch() -> str:
    return uuid.uuid4().hex


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def add(session: Session, batch: str, kind: str, key: str) -> None:
    session.add(Job(batch=batch, kind=kind, key=key))


def start(database: str, batch: str, key: str) -> dict | None:
    """Mark the task running (one attempt more); its result instead when a previous delivery finished it."""
    with session_scope(database) as s:
        job = s.scalars(select(Job).where(Job.batch == batch, Job.key == key)).one()
        if job.state == "done":
            return job.result
        job.state, job.attempts, job.worker = "running", job.attempts + 1, worker_name()
        return None


def finish(database: str, batch: str, key: str, state: str, result: dict | None = None,
           error: str | None = None) -> None:
    """done (with its result), failed (for good), or queued again (a retry is coming), with the error."""
    with session_scope(database) as s:
        job = s.scalars(select(Job).where(Job.batch == batch, Job.key == key)).one()
        job.state, job.error = state, error
        if result is not None:
            job.result = result
        if state in FINISHED:
            job.finished_at = now()


def jobs_of(database: str, batch: str) -> list[Job]:
    with session_scope(database) as s:
        return list(s.scalars(select(Job).where(Job.batch == batch).order_by(Job.id)))


def follow(database: str, batch: str, console: Console | None) -> list[Job]:
    """Wait until every task of the batch is done or failed, showing a bar per kind; the batch's rows."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=console is None) as progress:
        bars: dict[str, TaskID] = {}
        while True:
            jobs = jobs_of(database, batch)
            for kind, states in _states_by_kind(jobs).items():
                if kind not in bars:
                    bars[kind] = progress.add_task(kind, total=0, note="")
                note = " · ".join(f"{state} {n}" for state, n in sorted(states.items()) if state != "done")
                progress.update(bars[kind], total=sum(states.values()), completed=states["done"] + states["failed"],
                                note=note)
            if jobs and all(job.state in FINISHED for job in jobs):
                return jobs
            time.sleep(POLL_SECONDS)


def _states_by_kind(jobs: list[Job]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for job in jobs:
        out.setdefault(job.kind, Counter())[job.state] += 1
    return out
