"""Reviewing at edition scale: accept -> next item, and the queue page, at 4,000 proposals.

Seeds a record the size of an edition (every city and indicator of g20-2023, arab-2024, then asia-2023
until `--proposals` is reached: one document per city with a passage per indicator, an offline
proposal for each item and an LLM one for every third, cited, with a second snapshot for every tenth
city), serves the review app on a free loopback port with uvicorn and times, as a browser would:
  accept -> next   POST the decision, follow the redirect to the next item's page
  queue            GET /queue (the first page) as a reviewer and as the author
on SQLite and PostgreSQL. `--baseline REV` runs the same measurement with the code of a git revision
(checked out into a temporary worktree, run in a subprocess on its own fresh database), so today's
code and the baseline's are timed in one run on the same machine.

    .venv/bin/python bench/bench_review.py [--proposals 4000] [--decisions 30] [--baseline 4ed8875]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password"
EDITIONS = ("g20-2023", "arab-2024", "asia-2023")
POSTGRES = os.environ.get("EVIDENCE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- the record -------------------------------------------------------------------------------------

def seed(database: str, proposals: int) -> None:
    """An edition-sized record written straight through the ORM (columns every revision has)."""
    from evidence.database import session_scope
    from evidence.record import Assignment, Chunk, Citation, Document, Proposal, Reviewer, Snapshot
    from frameworks import load_framework
    from review.auth import hash_password
    from sources import load_registry

    registry, made, hashed = load_registry(), 0, hash_password(PASSWORD)
    june = datetime(2024, 6, 1, tzinfo=UTC)
    with session_scope(database) as s:
        lead = Reviewer(name="lead", role="author", languages=["en", "zh", "ar", "fr"], password_hash=hashed)
        amal = Reviewer(name="amal", role="reviewer", languages=["ar", "en", "zh", "fr", "pt", "es", "ru", "ja", "ko",
                                                                  "de", "it", "tr", "id", "hi"], password_hash=hashed)
        s.add_all([lead, amal])
        s.flush()
        for edition in EDITIONS:
            indicators = load_framework(edition).indicators
            s.add(Assignment(reviewer_id=amal.id, edition=edition, opened_by=lead.id))
            for n, city in enumerate(registry.in_edition(edition)):
                if made >= proposals:
                    return
                language = (city.languages or ["en"])[0]
                doc = Document(city=city.id)
                s.add(doc)
                s.flush()
                text = " ".join(f"Passage {i} of {city.id}: the city reports progress on {ind.id}." for i, ind in
                                enumerate(indicators))
                snap = Snapshot(document_id=doc.id, url=f"http://127.0.0.1:9/{city.id}/report.html",
                                raw_sha256=uuid.uuid4().hex * 2, text_sha256=uuid.uuid4().hex * 2, text=text,
                                language=language, title="report", fetched_at=june)
                s.add(snap)
                s.flush()
                if n % 10 == 0:  # a newer, different version: these items' evidence changed
                    s.add(Snapshot(document_id=doc.id, url=snap.url, raw_sha256=uuid.uuid4().hex * 2,
                                   text_sha256=uuid.uuid4().hex * 2, text=text + " Updated.", language=language,
                                   title="report", fetched_at=june + timedelta(days=60)))
                step = len(text) // len(indicators)
                for i, ind in enumerate(indicators):
                    chunk = Chunk(id=f"s{snap.id}:{i * step}-{(i + 1) * step}", snapshot_id=snap.id, start=i * step,
                                  end=(i + 1) * step, text=text[i * step:(i + 1) * step], language=language)
                    s.add(chunk)
                    methods = ("offline", "llm") if (n + i) % 3 == 0 else ("offline",)
                    for method in methods:
                        p = Proposal(edition=edition, city=city.id, indicator=ind.id, level=(n + i) % 3, method=method,
                                     confidence=((n * 7 + i * 13) % 100) / 100, rationale=f"{method} on {ind.id}",
                                     missing_evidence="", input_hash=uuid.uuid4().hex * 2,
                                     evidence_chunks=[chunk.id], evidence_snapshots=[snap.id])
                        p.citations.append(Citation(chunk_id=chunk.id, quote=chunk.text[:40], verified=i % 4 != 0))
                        s.add(p)
                    made += 1
                s.flush()


# --- serving and timing -------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(database: str, data: Path):
    import uvicorn

    from app.web import create_app
    from evidence.settings import Settings

    server = uvicorn.Server(uvicorn.Config(create_app(Settings(data_dir=data, database_url=database)),
                                           host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("the review app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def signed_in(url: str, name: str):
    import httpx

    client = httpx.Client(base_url=url, timeout=120)
    page = client.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    reply = client.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": csrf, "next": "/queue"})
    if reply.status_code != 303:
        raise RuntimeError(f"signing in as {name} failed: {reply.status_code}")
    return client


def first_item(html: str) -> str:
    return re.search(r'href="(/items/\d+)"', html).group(1)


def accept_then_next(client, item_path: str) -> tuple[float, str]:
    """Seconds from the POST of an accept to the next item's page received, and that page's path."""
    page = client.get(item_path)
    fields = {k: re.search(rf'name="{k}" value="([^"]*)"', page.text).group(1) for k in ("csrf_token", "version")}
    started = time.perf_counter()
    reply = client.post(f"{item_path}/decide", data={**fields, "action": "accept"}, follow_redirects=True)
    took = time.perf_counter() - started
    if reply.status_code != 200 or "/items/" not in str(reply.url):
        raise RuntimeError(f"accept on {item_path} ended at {reply.url} ({reply.status_code})")
    return took, reply.url.path


def timed_get(client, path: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        reply = client.get(path)
        out.append(time.perf_counter() - started)
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}: {reply.status_code}")
    return out


def measure(database: str, proposals: int, decisions: int) -> dict:
    """Seed `database`, serve it, and time the queue and `decisions` accepts in a row."""
    from evidence.database import session_scope
    from evidence.record import Proposal

    started = time.perf_counter()
    seed(database, proposals)
    seeded = time.perf_counter() - started
    with session_scope(database) as s:
        count = s.query(Proposal).count()
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp, served(database, Path(tmp)) as url:
        reviewer, author = signed_in(url, "amal"), signed_in(url, "lead")
        queue_reviewer = timed_get(reviewer, "/queue", 5)
        queue_author = timed_get(author, "/queue", 5)
        path, accepts = first_item(reviewer.get("/queue").text), []
        for _ in range(decisions):
            took, path = accept_then_next(reviewer, path)
            accepts.append(took)
    return {"proposals": count, "seed_s": round(seeded, 1), "accept_next": accepts, "queue_reviewer": queue_reviewer,
            "queue_author": queue_author}


# --- databases ---------------------------------------------------------------------------------------

@contextmanager
def database(backend: str, tmp: Path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'review-{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"bench_review_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from evidence.database import open_engine

        open_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_here(backend: str, proposals: int, decisions: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-review-db-") as tmp, database(backend, Path(tmp)) as url:
        return measure(url, proposals, decisions)


def run_at(revision: str, backend: str, proposals: int, decisions: int) -> dict:
    """The same measurement with the code of `revision`, in a subprocess on its own fresh database."""
    with tempfile.TemporaryDirectory(prefix="bench-review-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
        try:
            (tree / "bench" / "bench_review.py").write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
            out = subprocess.run([sys.executable, str(tree / "bench" / "bench_review.py"), "--one", backend,
                                  "--proposals", str(proposals), "--decisions", str(decisions)],
                                 cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                                 check=False)
            if out.returncode:
                raise RuntimeError(f"baseline {revision} failed:\n{out.stderr[-3000:]}")
            return json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


# --- report ------------------------------------------------------------------------------------------

def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, values: list[float], baseline: list[float] | None) -> str:
    p50, p95 = ms(values, 0.5), ms(values, 0.95)
    if baseline is None:
        return f"| {label} | {p50:.0f} | {p95:.0f} | | | |"
    b50, b95 = ms(baseline, 0.5), ms(baseline, 0.95)
    return f"| {label} | {p50:.0f} | {p95:.0f} | {b50:.0f} | {b95:.0f} | {b50 / p50:.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=4000)
    parser.add_argument("--decisions", type=int, default=30, help="accepts in a row, each followed to the next item")
    parser.add_argument("--baseline", default=None, help="a git revision to time beside this checkout")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one backend, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_here(args.one, args.proposals, args.decisions)))
        return
    print(f"items: {args.proposals} proposals; {args.decisions} accepts in a row; times in ms (p50, p95)")
    print("| backend · step | p50 | p95 | baseline p50 | baseline p95 | speed-up (p50) |\n|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        now = run_here(backend, args.proposals, args.decisions)
        before = run_at(args.baseline, backend, args.proposals, args.decisions) if args.baseline else None
        for key, label in (("accept_next", "accept -> next"), ("queue_reviewer", "queue (reviewer)"),
                           ("queue_author", "queue (author)")):
            print(row(f"{backend} · {label}", now[key], before[key] if before else None), flush=True)
        print(f"| {backend} · items seeded | {now['proposals']} | | {before['proposals'] if before else ''} | | |")


if __name__ == "__main__":
    main()
