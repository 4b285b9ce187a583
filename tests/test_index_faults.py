"""Faults of indexing (issue 13): kill -9 during `evidence index`; the next run takes over the dead run's
claims. Real processes, a real SQLite record, a real Chroma store."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from evidence.database import session_scope
from evidence.record import Chunk, Document, Snapshot

EVIDENCE = str(Path(sys.executable).with_name("evidence"))
WORDS = ("city", "district", "portal", "open", "data", "fibre", "school", "clinic", "permit", "tax", "transport",
         "bus", "metro", "water", "power", "grid", "sensor", "traffic", "budget", "council", "service", "citizen",
         "online", "form", "payment", "record", "map")


def _long_text(seed: int, sentences: int) -> str:
    rng = random.Random(seed)
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(110)).capitalize() + "." for _ in range(sentences))


def _record_snapshots(database: str, count: int) -> None:
    with session_scope(database) as s:
        for n in range(count):
            document = Document(city="tokyo")
            s.add(document)
            s.flush()
            text = _long_text(n, 100)
            s.add(Snapshot(document_id=document.id, url=f"http://127.0.0.1/{n}.html", raw_sha256="0" * 64,
                           text_sha256=f"{n:064d}", language="en", text=text, meta={}))


def _chroma_count(data_dir: Path) -> int:
    try:
        with sqlite3.connect(f"file:{data_dir / 'chroma' / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=0.1) as db:
            return db.execute("select count(*) from embeddings").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_during_index_leaves_no_snapshot_half_indexed(tmp_path):
    database, data_dir = f"sqlite:///{tmp_path / 'evidence.db'}", tmp_path / "data"
    _record_snapshots(database, 5)  # 100 chunks each, embedded 64 at a time: a batch ends mid-snapshot
    env = {**os.environ, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_DATABASE_URL": database}
    child = subprocess.Popen([EVIDENCE, "index", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while _chroma_count(data_dir) < 64 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    stored_at_kill = _chroma_count(data_dir)
    assert 0 < stored_at_kill < 500, "the kill should land while embedding"

    rerun = {**env, "EVIDENCE_INDEX_CLAIM_SECONDS": "0"}  # the killed run's claims lapse at once
    out = subprocess.run([EVIDENCE, "index", "--json"], env=rerun, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    with session_scope(database) as s:
        listed = dict(s.execute(select(Chunk.snapshot_id, func.count()).group_by(Chunk.snapshot_id)).all())
    with sqlite3.connect(data_dir / "chroma" / "chroma.sqlite3") as db:
        stored = Counter(int(v) for (v,) in db.execute(
            "select int_value from embedding_metadata where key = 'snapshot_id'"))
    assert len(listed) == 5 and all(n >= 90 for n in listed.values())
    assert stored == Counter(listed), "every snapshot's chunks, all of them, are in the store"
    assert report["chunks_total"] == sum(listed.values()) == report["lexical_chunks"]
