"""Text extraction off the crawl's event loop, in a pool of processes that a bad document cannot take down.

A PDF can take a second of CPU; in the reactor's thread that second stalls every download in flight (and
turns into spurious timeouts on slow hosts). In worker processes it does not, and extraction uses every core.
Each document has a deadline and a size cap (a PDF bomb costs at most that), and a dead worker costs at most
one retry of the pages in hand: never the rest of the crawl (every later page failed with BrokenProcessPool).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import forkserver
from typing import TYPE_CHECKING

from collector.ocr import OcrLimits

if TYPE_CHECKING:  # imported by the workers (preloaded in the fork server), not by the crawl process
    from collector.extract import Extraction


class ExtractionLost(Exception):
    """The worker extracting this page died twice: the page is recorded as lost, with this reason."""


class ExtractionTooLong(Exception):
    """The page's extraction ran past the per-document deadline; its worker was killed."""


def die_with_parent() -> None:
    """When the parent process is killed, this one goes too (Linux): a kill of `evidence crawl` is a kill of
    the crawl, with no orphan left behind."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's kill leaves this running
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the line above: nobody is left to wait for us
        os._exit(1)


def start_fork_server() -> multiprocessing.context.BaseContext:
    """A fork server with the extraction libraries loaded. Started first thing, it loads them while the crawl
    process loads Scrapy; each worker is then forked from it in milliseconds, sharing nothing with the reactor.
    `collector.mortal` comes first in its preload: it makes the fork server die with the crawl process (the
    workers die with the fork server), which a kill -9 of the crawl otherwise leaves running."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["collector.mortal", "collector.extract"])
    forkserver.ensure_running()
    return context


def _worker_start() -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C pauses the crawl; the pages in hand still finish


class ExtractionPool:
    """A process pool that survives its workers: one that dies (an OOM kill, a crash in a C library) breaks the
    standard library's pool for good, so the broken pool is replaced by a new one and the pages it held are
    tried once more; a page past the deadline has its pool's workers killed and replaced the same way."""

    def __init__(self, workers: int | None = None, seconds: float | None = None, max_chars: int | None = None,
                 ocr: OcrLimits | None = None):
        self.workers, self.seconds, self.max_chars = workers or min(4, os.cpu_count() or 1), seconds, max_chars
        self.ocr = ocr or OcrLimits()
        self.context = start_fork_server()
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=_worker_start)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool in place of `broken` (once, however many of its pages notice), its workers killed."""
        if self.pool is not broken:
            return
        for process in list((broken._processes or {}).values()):  # the executor offers no kill of its own
            with contextlib.suppress(OSError):
                process.kill()
        broken.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()

    async def extract(self, body: bytes, content_type: str | None, url: str,
                      content_language: str | None, languages: tuple[str, ...] = ()) -> Extraction:
        """extract() in a worker; raises ExtractionError as extract() does, ExtractionTooLong past the deadline,
        ExtractionLost when the page's worker died twice (a death once is retried: another page, or the OOM
        killer choosing this process, may have been the cause)."""
        args = (body, content_type, url, content_language, self.max_chars, replace(self.ocr, languages=languages))
        for attempt in (1, 2):
            pool = self.pool
            try:
                future = asyncio.wrap_future(pool.submit(_extract, *args))
                return await asyncio.wait_for(future, self.seconds)
            except TimeoutError:
                self._replace(pool)
                raise ExtractionTooLong(f"extraction stopped after {self.seconds:g} s (the per-document limit); "
                                        "its worker was replaced") from None
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == 2:
                    raise ExtractionLost("lost: the extraction worker died twice on this page") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _extract(*args) -> Extraction:
    from collector.extract import extract

    return extract(*args)
