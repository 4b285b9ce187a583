"""Recording what the spider found, and a progress event per page for the parent process.

Pages are written in small batches (a commit per page costs a disk sync each): a batch commits whole or not
at all, so a run killed at any instant leaves every page either finished or untouched, and a resumed run
fetches again at most the pages of the one batch that was lost. Consecutive 304s are written together (a
re-crawl of an unchanged site is almost nothing else), in the order the results came.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from collector.middlewares import CrawlerComponent
from collector.snapshots import FetchResult, record, record_not_modified
from evidence.database import open_engine

BATCH_PAGES = 50
BATCH_SECONDS = 1.0
EVENT_SECONDS = 0.2  # progress events reach the parent this often (a write per event costs a system call each)
_events = {"sent": 0.0}


def emit(event: dict, now: bool = False) -> None:
    """A progress event for `evidence crawl` (one JSON line on stdout; the crawl's log goes to a file), sent
    with the others of the last EVENT_SECONDS, or at once with `now`."""
    try:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        if now or time.monotonic() - _events["sent"] >= EVENT_SECONDS:
            sys.stdout.flush()
            _events["sent"] = time.monotonic()
    except BrokenPipeError:  # nobody watching any more; the record is what matters
        pass


class Recorder:
    """Writes fetch results to the record in batches of whole pages."""

    def __init__(self, database: str, data_dir: Path, crawl_id: int):
        self.data_dir, self.crawl_id = data_dir, crawl_id
        self.sessions = sessionmaker(open_engine(database), expire_on_commit=False)
        self.session: Session | None = None
        self.batch: list[FetchResult] = []
        self.not_modified: list[FetchResult] = []  # the batch's latest 304s, not written yet
        self.since = time.monotonic()

    def __call__(self, result: FetchResult) -> str:
        if result.outcome == "not-modified":
            self._open()
            self.not_modified.append(result)
            outcome = result.outcome
        else:
            outcome, result = self._write(result)
        self.batch.append(result)
        emit({"event": "recorded", "city": result.city, "url": result.url, "outcome": outcome,
              "reason": result.reason})
        if len(self.batch) >= BATCH_PAGES:
            self.flush()
        return outcome

    def _write(self, result: FetchResult) -> tuple[str, FetchResult]:
        """The outcome and what was recorded: the result, or a failed fetch saying why it could not be stored."""
        self.session = self._open()
        try:
            self._write_not_modified()
            outcome = record(self.session, result, self.data_dir, self.crawl_id)
            self.session.flush()
            return outcome, result
        except Exception as e:  # this page cannot be stored: keep the rest of the batch, record the page as failed
            self.session.rollback()
            self.not_modified = []  # in the batch, replayed below
            for earlier in self.batch:
                record(self.session, earlier, self.data_dir, self.crawl_id)
            unstorable = FetchResult(result.url, result.city, "failed", source_id=result.source_id,
                                     status=result.status, reason=f"could not be stored: {type(e).__name__}: {e}"[:2000])
            record(self.session, unstorable, self.data_dir, self.crawl_id)
            self.session.flush()
            return "failed", unstorable

    def _open(self) -> Session:
        if self.session is None:
            self.session, self.since = self.sessions(), time.monotonic()
        return self.session

    def _write_not_modified(self) -> None:
        if self.not_modified:
            record_not_modified(self._open(), self.not_modified, self.data_dir, self.crawl_id)
            self.not_modified = []

    def flush(self, idle: bool = False) -> None:
        """Commit the batch (on size, on the timer when pages trickle in, and at the end of the run)."""
        if self.session is None or (idle and time.monotonic() - self.since < BATCH_SECONDS):
            return
        self._write_not_modified()
        self.session.commit()
        self.session.close()
        self.session, self.batch = None, []


class RecordPipeline(CrawlerComponent):
    def process_item(self, item: FetchResult) -> FetchResult:
        self.crawler.spider.recorder(item)
        return item
