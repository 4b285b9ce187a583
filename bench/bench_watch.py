"""Watch benchmark: a watch pass over an unchanged corpus against the first crawl of it, in the same run.

    .venv/bin/python bench/bench_watch.py            # every g20-2023 city of the bundled sample
    .venv/bin/python bench/bench_watch.py --city berlin --city sao-paulo

The sample is served on loopback (version v1 throughout, so nothing changes), crawled once (the baseline),
indexed, then watched (`watch.passes.run_pass`, every source re-fetched). Figures: wall-clock seconds and the
requests the sites answered (and how many of the pass's were answered 304 Not Modified), with the pass/crawl
ratio. The slow page answers in 0.5 s so neither run measures a timeout.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from http import HTTPStatus
from pathlib import Path

from rich.console import Console
from rich.table import Table

from collector.crawl import SAMPLE_LIMITS, CrawlLimits, edition_cities, file_sources, run
from collector.server import SampleServer
from evidence.settings import Settings
from vectorstore.index import index_snapshots
from watch.passes import run_pass

EDITION = "g20-2023"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", action="append", help="only these sample cities (repeatable)")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp, SampleServer(version="v1", slow_seconds=0.5) as server:
        home = Path(tmp)
        settings = Settings(data_dir=home / "data", database_url=f"sqlite:///{home / 'e.db'}",
                            embedding_model="use-multilingual")
        cities = [c for c in edition_cities(EDITION, args.city) if c in server.cities]
        sources = file_sources(server.write_sources(home / "sources.yaml"), cities)
        limits = CrawlLimits(**SAMPLE_LIMITS)

        started, before = time.perf_counter(), len(server.hits)
        first = run(settings, EDITION, sources, limits)
        crawl_seconds, crawl_requests = time.perf_counter() - started, len(server.hits) - before
        index_snapshots(settings, show_progress=False)

        started, before = time.perf_counter(), len(server.hits)
        watched = run_pass(settings, everything=True, limits=limits, notify=False)
        pass_seconds = time.perf_counter() - started
        pass_hits = server.hits[before:]
    not_modified = sum(h.status == HTTPStatus.NOT_MODIFIED for h in pass_hits)
    table = Table("run", "seconds", "requests", "304 answers", "new snapshots",
                  title=f"watch pass over an unchanged corpus vs the first crawl ({len(cities)} cities)")
    table.add_row("first crawl (baseline)", f"{crawl_seconds:.2f}", str(crawl_requests), "0", str(first["new_snapshots"]))
    table.add_row("watch pass", f"{pass_seconds:.2f}", str(len(pass_hits)), str(not_modified),
                  str(watched["changes"]["cosmetic"] + watched["changes"]["substantive"]))
    table.add_row("ratio (pass / crawl)", f"{pass_seconds / crawl_seconds:.2f}",
                  f"{len(pass_hits) / max(crawl_requests, 1):.2f}", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
