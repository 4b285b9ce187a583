"""Crawls that run at once: overlapping editions lose no fetch, and a running crawl is never resumed elsewhere.

Real `evidence crawl` processes against the sample served on loopback, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collector.crawl import file_sources
from collector.runs import scope_key
from collector.scope_lock import CrawlRunning, scope_lock
from collector.server import SampleServer
from evidence.database import open_engine, session_scope
from evidence.record import Fetch, Page

EVIDENCE = str(Path(sys.executable).with_name("evidence"))
FAST = ["--timeout", "3", "--retries", "1", "--backoff", "0.1", "--delay", "0", "--concurrency", "4"]


@pytest.fixture(scope="module")
def server():
    with SampleServer(slow_seconds=30) as running:
        yield running


def start(cities: list[str], sources: Path, data_dir: Path, database: str) -> subprocess.Popen:
    env = {**os.environ, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_DATABASE_URL": database}
    scope = [arg for city in cities for arg in ("--city", city)]
    return subprocess.Popen([EVIDENCE, "crawl", "--edition", "g20-2023", *scope, "--sources", str(sources), *FAST,
                             "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_overlapping_crawls_at_once_lose_no_fetch(server, tmp_path, database_url):
    sources, data_dir = server.write_sources(tmp_path / "sources.yaml"), tmp_path / "data"
    open_engine(database_url)  # migrated first: this test is about the crawls' writes, not the schema's
    children = [start(["berlin", "london", "paris"], sources, data_dir, database_url),
                start(["london", "paris", "moscow"], sources, data_dir, database_url)]
    outs = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, outs, strict=True):
        assert child.returncode == 0, err
    runs = [json.loads(out)["crawl"] for out, _ in outs]
    with session_scope(database_url) as s:
        shared = [set(s.scalars(select(Fetch.url).where(Fetch.crawl_id == run, Fetch.city.in_(["london", "paris"]))))
                  for run in runs]
        unstorable = s.scalars(select(Fetch.reason).where(Fetch.reason.like("could not be stored%"))).all()
        pages = s.scalar(select(func.count()).select_from(Page))
        urls = s.scalar(select(func.count(Fetch.url.distinct())))
    assert unstorable == []
    assert shared[0] == shared[1] and len(shared[0]) > 20  # each run recorded every page the two have in common
    assert pages == urls  # one page row per URL, however many crawls reached it


def test_a_running_crawl_is_not_resumed_by_another_process(server, tmp_path, database_url):
    sources, data_dir = server.write_sources(tmp_path / "sources.yaml"), tmp_path / "data"
    scope = scope_key("g20-2023", file_sources(sources, ["berlin"]))
    with scope_lock(database_url, scope):  # another process (on PostgreSQL: another machine) runs this scope
        out, err = start(["berlin"], sources, data_dir, database_url).communicate(timeout=120)
        assert "crawl of this scope is running" in err and out == ""
        with pytest.raises(CrawlRunning), scope_lock(database_url, scope):  # nor a second taker in this process
            pass
        other = start(["paris"], sources, data_dir, database_url)  # another scope is not held up
        assert other.wait(timeout=120) == 0
    child = start(["berlin"], sources, data_dir, database_url)  # released: the crawl runs
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert json.loads(out)["state"] == "finished"
