"""Text extraction off the crawl's event loop, in a pool of processes.

A PDF can take a second of CPU; in the reactor's thread that second stalls every download in flight (and
turns into spurious timeouts on slow hosts). In worker processes it does not, and extraction uses every core.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the workers (preloaded in the fork server), not by the crawl process
    from collector.extract import Extraction


def die_with_parent() -> None:
    """When the parent process is killed, this one goes too (Linux): a kill of `evidence crawl` is a kill of
    the crawl, with no orphan left behind."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's kill leaves this running
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_fork_server() -> multiprocessing.context.BaseContext:
    """A fork server with the extraction libraries loaded. Started first thing, it loads them while the crawl
    process loads Scrapy; each worker is then forked from it in milliseconds, sharing nothing with the reactor."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["collector.extract"])
    forkserver.ensure_running()
    return context


def _worker_start() -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C pauses the crawl; the pages in hand still finish


class ExtractionPool:
    def __init__(self, workers: int | None = None):
        self.pool = ProcessPoolExecutor(workers or min(4, os.cpu_count() or 1), mp_context=start_fork_server(),
                                        initializer=_worker_start)

    async def extract(self, body: bytes, content_type: str | None, url: str,
                      content_language: str | None) -> Extraction:
        """extract() in a worker; raises ExtractionError as extract() does."""
        return await asyncio.wrap_future(self.pool.submit(_extract, body, content_type, url, content_language))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _extract(*args) -> Extraction:
    from collector.extract import extract

    return extract(*args)
