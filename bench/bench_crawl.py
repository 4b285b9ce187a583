"""Crawl benchmark: `evidence crawl` on a large generated copy of the sample, against a plain sequential loop
that does the same work per page (urllib fetch, the crawl's own extraction, its record in SQLite and the raw
bytes stored, committed every 50 pages as the crawl does; on the re-crawl a conditional request and a row),
over the same pages, measured in the same run.

    .venv/bin/python bench/bench_crawl.py            # about 3,000 pages
    .venv/bin/python bench/bench_crawl.py --copies 5 # quicker

The copy: every g20-2023 sample site repeated N times under /copy-K/ (links, sitemap and robots.txt rewritten),
served by `evidence sample serve --root` in its own process so the server does not share a GIL with the
baseline. Slow, oversized and error routes are left out: they measure timeouts, not throughput. Figures are
pages per second, wall clock, including process start-up for the crawl command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SITES = ROOT / "sources" / "sample" / "sites"
EVIDENCE = str(Path(sys.executable).with_name("evidence"))
EDITION = "g20-2023"
# loopback answers in microseconds: no politeness delay, a few requests per host (the real-web defaults are
# --delay 1 --concurrency 2, which measure the politeness, not the crawler)
CRAWL_FLAGS = ["--delay", "0", "--concurrency", "4"]


def generate(target: Path, copies: int) -> int:
    """Write the large sample under target/sites; returns the number of pages in the sitemaps."""
    from sources import load_registry

    members = {c.id for c in load_registry().in_edition(EDITION)}
    pages = 0
    for site in sorted(SAMPLE_SITES.iterdir()):
        if site.name not in members:
            continue
        spec = yaml.safe_load((site / "site.yaml").read_text(encoding="utf-8"))
        out = target / "sites" / site.name
        out.mkdir(parents=True)
        legacy = spec.get("routes", {}).get("charsets", {})
        spec["routes"] = {"charsets": {f"/copy-{k}{path}": charset for k in range(copies)
                                       for path, charset in legacy.items()}}
        paths = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
                 and p.suffix in (".html", ".pdf") and not _forbidden(site, p)]
        locs = []
        for k in range(copies):
            for path in paths:
                data = (site / path).read_bytes()
                if path.endswith(".html"):
                    data = re.sub(rb'(href|src)="/', rb'\1="/copy-%d/' % k, data)
                    data = data.replace(b"</body>", b"<p>copy %d</p></body>" % k)
                (out / f"copy-{k}" / path).parent.mkdir(parents=True, exist_ok=True)
                (out / f"copy-{k}" / path).write_bytes(data)
                locs.append(f"/copy-{k}/{path}")
        links = "".join(f'<li><a href="/copy-{k}/index.html">copy {k}</a></li>' for k in range(copies))
        (out / "index.html").write_text(f"<!doctype html><html lang='{spec['language']}'><head><meta charset='utf-8'>"
                                        f"<title>{spec['name']}</title></head><body><h1>{spec['name']}</h1><ul>{links}"
                                        "</ul></body></html>", encoding="utf-8")
        (out / "robots.txt").write_text("User-agent: *\nDisallow: /intranet-none/\nSitemap: /sitemap.xml\n")
        (out / "sitemap.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
                                         'schemas/sitemap/0.9">' + "".join(f"<url><loc>{u}</loc></url>" for u in locs)
                                         + "</urlset>\n", encoding="utf-8")
        (out / "site.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        pages += len(locs) + 1
    return pages


def _forbidden(site: Path, page: Path) -> bool:
    robots = (site / "robots.txt").read_text(encoding="utf-8")
    path = "/" + page.relative_to(site).as_posix()
    return any(path.startswith(rule) for rule in re.findall(r"(?im)^Disallow:\s*(/\S*)", robots))


def serve(root: Path, sources: Path) -> subprocess.Popen:
    server = subprocess.Popen([EVIDENCE, "sample", "serve", "--root", str(root), "--port", "0", "--sources-out",
                               str(sources), "--duration", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not sources.exists():
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit(f"the sample server did not start: {server.stderr.read().decode()}")
        time.sleep(0.1)
    return server


def crawl(home: Path, sources: Path) -> tuple[int, float]:
    env = {**os.environ, "EVIDENCE_DATA_DIR": str(home / "data")}
    env.pop("EVIDENCE_DATABASE_URL", None)  # the default: SQLite in the data directory
    started = time.perf_counter()
    out = subprocess.run([EVIDENCE, "crawl", "--edition", EDITION, "--sources", str(sources), *CRAWL_FLAGS,
                          "--json"], env=env, capture_output=True, text=True, cwd=home, check=False)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    outcomes = json.loads(out.stdout)["outcomes"].values()
    return sum(n for city in outcomes for outcome, n in city.items() if outcome != "refused"), elapsed


def page_urls(home: Path) -> list[tuple[str, str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{home / 'data' / 'evidence.db'}")
    with engine.connect() as conn:
        urls = [(u, c) for u, c in conn.execute(text("select url, city from pages where snapshot_id is not null "
                                                     "order by id"))]
    engine.dispose()
    return urls


def baseline(urls: list[tuple[str, str]], home: Path) -> float:
    """The plain loop, one page after another: fetch (conditionally when the page is known), extract with the
    crawl's extractor, record the fetch and its snapshot, store the raw bytes; a commit every 50 pages."""
    from sqlalchemy import select

    from collector.extract import ExtractionError, extract
    from collector.pipeline import BATCH_PAGES
    from collector.snapshots import FetchResult, record
    from evidence.database import session_scope
    from evidence.record import Page
    from evidence.settings import CrawlLimits

    database, data_dir, limit = f"sqlite:///{home / 'baseline.db'}", home / "baseline", CrawlLimits().max_text_chars
    started = time.perf_counter()
    for start in range(0, len(urls), BATCH_PAGES):
        with session_scope(database) as session:
            for url, city in urls[start:start + BATCH_PAGES]:
                page = session.scalars(select(Page).where(Page.url == url)).first()
                request = urllib.request.Request(url, headers={"If-None-Match": page.etag} if page and page.etag else {})
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        body, headers = response.read(), response.headers
                except urllib.error.HTTPError as e:
                    if e.code != 304:
                        raise
                    record(session, FetchResult(url, city, "not-modified", status=304), data_dir)
                    continue
                result = FetchResult(url, city, "fetched", status=200, body=body, content_type=headers["Content-Type"],
                                     etag=headers["ETag"], last_modified=headers["Last-Modified"])
                try:
                    result.extraction = extract(body, result.content_type, url, headers["Content-Language"], limit)
                    result.links = result.extraction.links
                except ExtractionError as e:
                    result.outcome, result.reason = "failed", str(e)
                record(session, result, data_dir)
    return time.perf_counter() - started


def main() -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the cores skews every figure
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=25, help="how many times each site is repeated")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    try:
        total = generate(home / "sample", args.copies)
        print(f"generated {total} pages ({args.copies} copies of the {EDITION} sample sites) in {home}", flush=True)
        server = serve(home / "sample", home / "sources.yaml")
        try:
            first_fetches, first_s = crawl(home, home / "sources.yaml")
            again_fetches, again_s = crawl(home, home / "sources.yaml")
            urls = page_urls(home)
            base_first = baseline(urls, home)
            base_again = baseline(urls, home)
        finally:
            server.terminate()
            server.wait(10)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    rows = [("first crawl", first_fetches, first_s, base_first), ("re-crawl", again_fetches, again_s, base_again)]
    sys.stdout.flush()
    print(f"\n{len(urls)} pages{'':3} {'evidence crawl':>30} {'sequential baseline':>20} {'ratio':>8}")
    for name, fetches, seconds, base_seconds in rows:
        ours, theirs = len(urls) / seconds, len(urls) / base_seconds
        print(f"{name:12} {fetches:6d} fetches {seconds:6.1f} s {ours:6.1f} p/s   {base_seconds:6.1f} s "
              f"{theirs:6.1f} p/s {ours / theirs:7.2f}x")
    print(f"\nre-crawl of the unchanged corpus: {first_s / again_s:.1f}x faster than the first crawl "
          f"(the baseline's: {base_first / base_again:.1f}x)")
    print(f"evidence crawl {' '.join(CRAWL_FLAGS)}: also obeys robots.txt, reads sitemaps, keeps per-host politeness "
          f"and records redirects, refusals and failures; {os.cpu_count()} cores, load average before the run "
          f"{load}. Crawl times include starting the crawl process.")


if __name__ == "__main__":
    main()
