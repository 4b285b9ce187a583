"""Faults of the crawl (issue 13): a dead extraction worker, a PDF bomb, a huge page, kill -9 of the crawl, a
source with more pages than its budget. Real processes, real loopback servers, real kills."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import pdf_bomb
from sqlalchemy import select

from collector.server import SampleServer
from collector.workers import ExtractionLost, ExtractionPool
from evidence.database import session_scope
from evidence.record import Fetch, Snapshot

EVIDENCE = str(Path(sys.executable).with_name("evidence"))
FAST = ["--timeout", "5", "--retries", "0", "--delay", "0", "--concurrency", "2"]


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def workers_of(parent: int) -> list[int]:
    """The extraction workers under a process that started a fork server (the fork server's children)."""
    servers = [p for p in children(parent) if "forkserver" in cmdline(p)]
    return [w for s in servers for w in children(s) if alive(w)]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def env_for(data_dir: Path, database: str, **settings: str) -> dict:
    return {**os.environ, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_DATABASE_URL": database, "COLUMNS": "200",
            **settings}


@pytest.fixture(scope="module")
def server():
    with SampleServer(slow_seconds=30) as running:
        yield running


def test_a_worker_that_dies_twice_on_a_page_loses_that_page_and_the_pool_goes_on():
    """kill -9 the worker extracting a page, then the worker retrying it: the page is lost (with the reason)
    and the pool, its workers replaced, extracts the next page."""
    pool = ExtractionPool(workers=1)
    me, killed = os.getpid(), []

    def kill_the_busy_worker() -> None:
        pid = wait_for(lambda: next((w for w in workers_of(me) if w not in killed), None), 30, "a new worker")
        time.sleep(0.3)  # it has the page by now
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    async def scenario():
        job = asyncio.ensure_future(pool.extract(pdf_bomb(40, 1_000_000), "application/pdf", "http://x/b.pdf", None))
        for _ in range(2):
            await asyncio.to_thread(kill_the_busy_worker)
        with pytest.raises(ExtractionLost, match="died twice on this page"):
            await job
        page = b"<html lang='en'><body><p>" + b"The city opened its data portal. " * 20 + b"</p></body></html>"
        return await pool.extract(page, "text/html", "http://x/a.html", None)

    try:
        assert "data portal" in asyncio.run(scenario()).text
    finally:
        pool.close()
    assert len(killed) == 2


def test_a_worker_killed_mid_crawl_loses_no_page(server, tmp_path):
    """kill -9 every extraction worker while the crawl runs: the pool replaces them, the page in hand is
    retried, and every later page is extracted (before: all failed with BrokenProcessPool, run `finished`)."""
    database, data_dir = f"sqlite:///{tmp_path / 'evidence.db'}", tmp_path / "data"
    sources = server.write_sources(tmp_path / "sources.yaml")
    command = [EVIDENCE, "crawl", "--sources", str(sources), "--edition", "g20-2023", "--city", "tokyo",
               "--city", "moscow", *FAST, "--delay", "0.3", "--concurrency", "1", "--json"]
    hits = len(server.hits)
    child = subprocess.Popen(command, env=env_for(data_dir, database), stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        wait_for(lambda: len(server.hits) >= hits + 6, 60, "the first fetches")
        engine = wait_for(lambda: next((p for p in children(child.pid) if "collector.engine" in cmdline(p)), None),
                          10, "the crawl process")
        victims = wait_for(lambda: workers_of(engine), 10, "extraction workers")
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        killed_at = len(server.hits) - hits
        out, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    summary = json.loads(out)
    assert summary["state"] == "finished" and summary["clean"] and summary["lost"] == 0
    with session_scope(database) as s:
        fetches = s.scalars(select(Fetch).where(Fetch.crawl_id == summary["crawl"])).all()
    assert len(fetches) > killed_at + 5, "the crawl should have gone on well past the kill"
    assert not [f.reason for f in fetches if "Broken" in (f.reason or "") or "worker" in (f.reason or "")]
    for city in ("tokyo", "moscow"):
        assert summary["outcomes"][city].get("new-snapshot", 0) >= 5, summary["outcomes"][city]


def _hostile_site(root: Path) -> None:
    site = root / "sites" / "tokyo"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text("city: tokyo\nedition: g20-2023\nname: hostile\nlanguage: en\n"
                                    "start: /index.html\n", encoding="utf-8")
    links = "".join(f"<a href='/{name}'>{name}</a>" for name in ("bomb.pdf", "huge.txt", "after.html"))
    (site / "index.html").write_text(f"<html lang='en'><body><p>{'The portal lists its documents. ' * 10}</p>"
                                     f"{links}</body></html>", encoding="utf-8")
    (site / "bomb.pdf").write_bytes(pdf_bomb(40, 2_000_000))
    (site / "huge.txt").write_text("Open data in every district. " * 2000, encoding="utf-8")
    (site / "after.html").write_text(f"<html lang='en'><body><p>{'Fibre reaches every school. ' * 10}</p>"
                                     "</body></html>", encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")


def test_a_pdf_bomb_is_stopped_at_the_deadline_and_a_huge_text_is_cut(tmp_path):
    _hostile_site(tmp_path / "tree")
    database, data_dir = f"sqlite:///{tmp_path / 'evidence.db'}", tmp_path / "data"
    limits = {"EVIDENCE_CRAWL_EXTRACT_SECONDS": "2", "EVIDENCE_CRAWL_MAX_TEXT_CHARS": "5000"}
    with SampleServer(root=tmp_path / "tree") as hostile:
        sources = hostile.write_sources(tmp_path / "sources.yaml")
        started = time.monotonic()
        out = subprocess.run([EVIDENCE, "crawl", "--sources", str(sources), "--edition", "g20-2023", "--city", "tokyo",
                              *FAST, "--json"], env=env_for(data_dir, database, **limits), capture_output=True,
                             text=True, timeout=120)
        took = time.monotonic() - started
        base = hostile.urls["tokyo"]
    assert out.returncode == 0, out.stderr
    with session_scope(database) as s:
        fetched = {f.url: f for f in s.scalars(select(Fetch))}
        huge = s.get(Snapshot, fetched[base + "/huge.txt"].snapshot_id)
        assert huge is not None and len(huge.text) == 5000 and huge.meta["cut"].startswith("text cut at 5,000")
    bomb = fetched[base + "/bomb.pdf"]
    assert bomb.outcome == "failed" and bomb.reason.startswith("extraction stopped after 2 s (the per-document limit)")
    assert fetched[base + "/huge.txt"].reason == "text cut at 5,000 characters (the per-document limit)"
    assert fetched[base + "/after.html"].outcome == "new-snapshot"  # the bomb's worker was replaced
    assert took < 60, f"the crawl of a 4-page site took {took:.0f} s"


def test_kill_9_of_the_crawl_leaves_no_process_behind(server, tmp_path):
    """Each killed crawl used to leave its fork server and workers running (and the crawl command waiting on
    their inherited stdout): children die with their parent."""
    database, data_dir = f"sqlite:///{tmp_path / 'evidence.db'}", tmp_path / "data"
    sources = server.write_sources(tmp_path / "sources.yaml")
    child = subprocess.Popen([EVIDENCE, "crawl", "--sources", str(sources), "--edition", "g20-2023", "--city", "berlin",
                              *FAST, "--delay", "0.3", "--concurrency", "1", "--json"],
                             env=env_for(data_dir, database), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        engine = wait_for(lambda: next((p for p in children(child.pid) if "collector.engine" in cmdline(p)), None),
                          30, "the crawl process")
        wait_for(lambda: workers_of(engine), 30, "extraction workers")
        session = os.getsid(child.pid)
        os.kill(engine, signal.SIGKILL)
        child.communicate(timeout=30)  # the command sees its crawl process gone, instead of hanging

        def left() -> list[str]:
            return [cmdline(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit() and alive(int(p.name))
                    and _sid(int(p.name)) == session]

        wait_for(lambda: not left(), 15, "the crawl's processes to die")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        for pid in [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]:
            if _sid(pid) == child.pid:
                os.kill(pid, signal.SIGKILL)


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def test_a_source_stops_at_its_page_budget(server, tmp_path):
    database, data_dir = f"sqlite:///{tmp_path / 'evidence.db'}", tmp_path / "data"
    sources = server.write_sources(tmp_path / "sources.yaml")
    out = subprocess.run([EVIDENCE, "crawl", "--sources", str(sources), "--edition", "g20-2023", "--city", "paris",
                          *FAST, "--source-pages", "4", "--json"], env=env_for(data_dir, database),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["state"] == "finished"
    assert [(b["city"], b["pages"]) for b in summary["over_budget"]] == [("paris", 4)]
    with session_scope(database) as s:
        pages = {f.url for f in s.scalars(select(Fetch).where(Fetch.outcome != "redirected"))}
    assert len(pages) == 4, pages
    assert "pages per source at most (default 5000" in subprocess.run(
        [EVIDENCE, "crawl", "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}).stdout
