"""Gathering evidence: one city's questions (every indicator of an edition), batched vs one search a query.

The proposer asks dozens of queries per question (the ladder's texts, and each cue term of each rung on
its own). `search_many` computes the filter once, sends the dense queries to Chroma in one call and
reads the record once; the baseline asks `search` once per query, as gathering did before. Both run on
the crawled and indexed bundled sample, in the same process, after one warm-up pass (query vectors are
cached either way: they are the same for every city).

    .venv/bin/python bench/bench_gather.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def one_search_a_query(settings, edition: str, city, indicator) -> int:
    from review.proposer.evidence import PER_QUERY, PER_TERM, queries_for
    from vectorstore.search import Filters, search

    hits = 0
    for q in queries_for(indicator, city):
        hits += len(search(settings, q.text, PER_TERM if q.mode == "lexical" else PER_QUERY, Filters(city=city.id),
                           q.mode))
    return hits


def batched(settings, edition: str, city, indicator) -> int:
    from review.proposer.evidence import OFFLINE_BUDGET_TOKENS, gather

    return len(gather(settings, edition, city, indicator, OFFLINE_BUDGET_TOKENS).passages)


def timed(run, settings, edition, cities, repeat: int) -> list[float]:
    from frameworks import load_framework

    indicators = load_framework(edition).indicators
    per_city = []
    for _ in range(repeat):
        for city in cities:
            started = time.perf_counter()
            for indicator in indicators:
                run(settings, edition, city, indicator)
            per_city.append(time.perf_counter() - started)
    return per_city


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gather-") as tmp:
        os.environ["EVIDENCE_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ.pop("EVIDENCE_DATABASE_URL", None)
        from bench_sample import crawl_sample

        from evidence.settings import load_settings
        from sources import load_registry

        crawl_sample(Path(tmp))
        settings = load_settings()
        edition = "arab-2024"
        cities = load_registry().in_edition(edition)
        cities = [c for c in cities if c.id in ("riyadh", "cairo", "dubai")]
        timed(batched, settings, edition, cities, 1)  # warm-up: query vectors, Chroma, the lexical index
        timed(one_search_a_query, settings, edition, cities, 1)
        base = timed(one_search_a_query, settings, edition, cities, args.repeat)
        new = timed(batched, settings, edition, cities, args.repeat)
    print(f"one city x 11 indicators ({', '.join(c.id for c in cities)}, {args.repeat} rounds), median seconds:")
    print(f"  one search a query (baseline): {statistics.median(base):.3f} s")
    ratio = statistics.median(base) / statistics.median(new)
    print(f"  gather with search_many:        {statistics.median(new):.3f} s   ({ratio:.1f}x)")


if __name__ == "__main__":
    main()
