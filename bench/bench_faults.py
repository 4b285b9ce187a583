"""Fault benchmark (issue 13): chunking time against text size up to 100 MB, and a PDF bomb under the caps.

    .venv/bin/python bench/bench_faults.py                  # 1, 10 and 100 MB; the bomb at the default caps
    .venv/bin/python bench/bench_faults.py --sizes 1 10     # smaller sizes only

Chunking: one line without a sentence break (the text that was quadratic: 1 MB took minutes) and many short
lines, each timed against a baseline measured in the same run on the same text: one pass of the chunker's
own token regex over it, the least any chunker must do. Linear chunking keeps the ratio to the baseline and
the seconds per MB flat as the size grows ten- and a hundredfold.

The bomb: a 34 KB PDF whose 40 pages all draw one 8 MB content stream (such a PDF took 209 s of CPU and gave
a 10.7 M-character snapshot before the caps), extracted by the crawl's own worker pool with the default
per-document limits (`crawl.extract_seconds`, `crawl.max_text_chars`), beside an ordinary one-page PDF.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from collector.workers import ExtractionPool, ExtractionTooLong
from evidence.settings import CrawlLimits
from vectorstore.chunking import _TOKEN, chunk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' hostile documents
from hostile import pdf_bomb

WORDS = ("city", "district", "portal", "open", "data", "fibre", "school", "clinic", "permit", "transport",
         "budget", "council", "service", "citizen", "online")


def text_of(megabytes: int, separator: str) -> str:
    rng = random.Random(megabytes)
    base = separator.join(rng.choice(WORDS) for _ in range(150_000))  # about 1 MB
    return (base + separator) * megabytes


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def bench_chunking(console: Console, sizes: list[int]) -> None:
    table = Table("text", "MB", "chunks", "chunking s", "s per MB", "baseline s (one regex pass)", "× baseline",
                  title="chunking time against size")
    for name, separator in (("one line, no sentence break", " "), ("short lines", "\n")):
        for megabytes in sizes:
            text = text_of(megabytes, separator)
            baseline, _ = timed(lambda text=text: sum(1 for _ in _TOKEN.finditer(text)))
            seconds, passages = timed(lambda text=text: chunk(text, "en"))
            table.add_row(name, str(megabytes), f"{len(passages):,}", f"{seconds:.2f}", f"{seconds / megabytes:.3f}",
                          f"{baseline:.2f}", f"{seconds / baseline:.1f}")
            del text, passages
    console.print(table)


def bench_bomb(console: Console) -> None:
    limits = CrawlLimits()
    pool = ExtractionPool(workers=1, seconds=limits.extract_seconds, max_chars=limits.max_text_chars)
    ordinary = pdf_bomb(pages=1, stream_bytes=4_000)  # the same structure, a page's worth of text
    bomb = pdf_bomb()
    table = Table("document", "bytes", "outcome", "characters", "seconds",
                  title=f"PDF extraction under the caps ({limits.extract_seconds:g} s, "
                        f"{limits.max_text_chars:,} characters per document)")

    async def run(body: bytes) -> tuple[str, int]:
        try:
            found = await pool.extract(body, "application/pdf", "http://127.0.0.1/x.pdf", None)
            return found.cut or "extracted", len(found.text)
        except ExtractionTooLong as e:
            return str(e), 0

    try:
        asyncio.run(run(ordinary))  # start the workers first: the baseline is one extraction, not a pool's start
        for name, body in (("ordinary PDF (baseline)", ordinary), ("PDF bomb: 40 pages × one 8 MB stream", bomb)):
            seconds, (outcome, chars) = timed(lambda body=body: asyncio.run(run(body)))
            table.add_row(name, f"{len(body):,}", outcome, f"{chars:,}", f"{seconds:.1f}")
    finally:
        pool.close()
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="text sizes in MB")
    parser.add_argument("--no-bomb", action="store_true", help="chunking only")
    args = parser.parse_args()
    console = Console()
    bench_chunking(console, args.sizes)
    if not args.no_bomb:
        bench_bomb(console)


if __name__ == "__main__":
    main()
