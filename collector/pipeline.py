"""Recording what the spider found, and a progress event per page for the parent process.

Pages are written in small batches (a commit per page costs a disk sync each): a batch commits whole or not
at all, so a run killed at any instant leaves every page either finished or untouched, and a resumed run
fetches again at most the pages of the one batch that was lost.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from collector.middlewares import CrawlerComponent
from collector.snapshots import FetchResult, record
from evidence.database import open_engine

BATCH_PAGES = 50
BATCH_SECONDS = 1.0


def emit(event: dict) -> None:
    """A progress event for `evidence crawl` (one JSON line on stdout; the crawl's log goes to a file)."""
    try:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # nobody watching any more; the record is what matters
        pass


class Recorder:
    """Writes fetch results to the record in batches of whole pages."""

    def __init__(self, database: str, data_dir: Path, crawl_id: int):
        self.data_dir, self.crawl_id = data_dir, crawl_id
        self.sessions = sessionmaker(open_engine(database), expire_on_commit=False)
        self.session: Session | None = None
        self.batch: list[FetchResult] = []
        self.since = time.monotonic()

    def __call__(self, result: FetchResult) -> str:
        outcome, result = self._write(result)
        self.batch.append(result)
        emit({"event": "recorded", "city": result.city, "url": result.url, "outcome": outcome,
              "reason": result.reason})
        if len(self.batch) >= BATCH_PAGES:
            self.flush()
        return outcome

    def _write(self, result: FetchResult) -> tuple[str, FetchResult]:
        """The outcome and what was recorded: the result, or a failed fetch saying why it could not be stored."""
        if self.session is None:
            self.session, self.since = self.sessions(), time.monotonic()
        try:
            outcome = record(self.session, result, self.data_dir, self.crawl_id)
            self.session.flush()
            return outcome, result
        except Exception as e:  # this page cannot be stored: keep the rest of the batch, record the page as failed
            self.session.rollback()
            for earlier in self.batch:
                record(self.session, earlier, self.data_dir, self.crawl_id)
            unstorable = FetchResult(result.url, result.city, "failed", source_id=result.source_id,
                                     status=result.status, reason=f"could not be stored: {type(e).__name__}: {e}"[:2000])
            record(self.session, unstorable, self.data_dir, self.crawl_id)
            self.session.flush()
            return "failed", unstorable

    def flush(self, idle: bool = False) -> None:
        """Commit the batch (on size, on the timer when pages trickle in, and at the end of the run)."""
        if self.session is None or (idle and time.monotonic() - self.since < BATCH_SECONDS):
            return
        self.session.commit()
        self.session.close()
        self.session, self.batch = None, []


class RecordPipeline(CrawlerComponent):
    def process_item(self, item: FetchResult) -> FetchResult:
        self.crawler.spider.recorder(item)
        return item
