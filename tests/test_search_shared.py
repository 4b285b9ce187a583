"""Search shared by every machine (issue 16): the lexical index in the record's own full-text search (SQLite
FTS5, PostgreSQL tsvector), updated as chunks are added; Chroma collections per record; `evidence index`
runs that divide the work. Real SQLite and PostgreSQL, a real Chroma server, real processes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import bm25s
import pytest
from sqlalchemy import func, insert, select

from evidence.database import open_engine, session_scope
from evidence.record import Chunk, Document, IndexedSnapshot, LexicalChunk, Snapshot
from evidence.settings import Settings
from tests.test_vectorstore import free_port, seed
from vectorstore import fulltext
from vectorstore.index import _Run, index_snapshots
from vectorstore.lexical import terms
from vectorstore.search import Filters, _rows, search

EVIDENCE = str(Path(sys.executable).with_name("evidence"))
WORDS = ["fibre", "gigabit", "network", "district", "school", "clinic", "permit", "budget", "sensor", "traffic",
         "water", "grid", "metro", "portal", "record", "citizen"]


def _lexical_corpus(database: str, n: int, seed_: int = 3) -> dict[str, list[str]]:
    """n chunks of random words (a few words rare, most common) as the full-text index holds them."""
    rng = random.Random(seed_)
    engine = open_engine(database)
    at = datetime(2023, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(Document), [{"id": 1, "city": "tokyo", "created_at": at}])
        conn.execute(insert(Snapshot), [{"id": 1, "document_id": 1, "url": "http://127.0.0.1:9/", "fetched_at": at,
                                         "raw_sha256": "0" * 64, "text_sha256": "0" * 64, "text": "", "meta": {}}])
        texts = {f"c{i:04d}": " ".join(rng.choices(WORDS, weights=range(1, len(WORDS) + 1), k=rng.randint(5, 40)))
                 for i in range(n)}
        conn.execute(insert(Chunk), [{"id": cid, "snapshot_id": 1, "start": 0, "end": 1, "text": t, "language": "en"}
                                     for cid, t in texts.items()])
    with session_scope(database) as session:
        fulltext.add(session, [{"chunk_id": cid, "snapshot_id": 1, "document_id": 1, "city": "tokyo", "language": "en",
                                "date": 20230601, "latest": True, "terms": terms(t, "en")} for cid, t in texts.items()])
    return {cid: terms(t, "en") for cid, t in texts.items()}


def _lexical(database: str, query: str, k: int) -> list[tuple[str, float, float]]:
    q = fulltext.query_terms(query, "en")
    with session_scope(database) as session:
        return fulltext.search(session, q, k, fulltext.Scope(), fulltext.stats(session, q))


def test_lexical_search_ranks_as_bm25_on_both_backends(database_url):
    """The record's full-text search finds, and ranks exactly as the bm25s index it replaces did."""
    corpus = _lexical_corpus(database_url, 400)
    ids = list(corpus)
    reference = bm25s.BM25()
    reference.index(list(corpus.values()), show_progress=False)
    for query in ("gigabit fibre", "fibre network district school", "clinic permit budget sensor traffic water"):
        q = sorted(set(fulltext.query_terms(query, "en")))
        want = reference.get_scores(q)
        best = sorted(((ids[n], float(s)) for n, s in enumerate(want) if s > 0), key=lambda kv: (-kv[1], kv[0]))[:20]
        got = _lexical(database_url, query, 20)
        assert [cid for cid, _, _ in got] == [cid for cid, _ in best], query
        assert [s for _, s, _ in got] == pytest.approx([s for _, s in best], rel=1e-5)


def test_the_top_k_stops_early_yet_equals_the_full_ranking(database_url):
    """A rare term decides the top 3: the commoner terms' chunks need not be read, and the order is the same."""
    _lexical_corpus(database_url, 400)
    full = _lexical(database_url, "fibre water", 400)
    assert _lexical(database_url, "fibre water", 3) == full[:3]


def test_a_batch_read_in_one_statement_ranks_as_each_query_alone(database_url):
    _lexical_corpus(database_url, 300)
    queries = [fulltext.query_terms(q, "en") for q in ("fibre", "gigabit fibre network", "citizen record", "nowhere")]
    with session_scope(database_url) as session:
        corpus = fulltext.stats(session, {t for q in queries for t in q})
        assert sum(corpus.df.values()) <= fulltext.PREFETCH, "the batch takes the one-statement path"
        batch = fulltext.search_many(session, queries, [10, 10, 5, 10], fulltext.Scope(), corpus)
        alone = [fulltext.search(session, q, k, fulltext.Scope(), corpus) for q, k in zip(queries, [10, 10, 5, 10])]
    assert batch == alone and batch[0] and batch[-1] == []


def test_coverage_counts_the_query_terms_a_chunk_contains(database_url):
    _lexical_corpus(database_url, 50)
    coverage = {cid: c for cid, _, c in _lexical(database_url, "fibre citizen nowhere elsewhere", 50)}
    assert coverage and set(coverage.values()) <= {0.25, 0.5}
    assert 0.5 in coverage.values()


@pytest.fixture
def indexed(tmp_path, database_url):
    s = Settings(data_dir=tmp_path / "data", database_url=database_url, embedding_model="use-multilingual")
    seed(s.database)
    index_snapshots(s, show_progress=False)
    return s


def test_a_new_snapshot_adds_its_rows_and_rebuilds_nothing(indexed):
    with session_scope(indexed.database) as s:
        before = dict(s.execute(select(LexicalChunk.chunk_id, LexicalChunk.id)).all())
        doc = s.query(Document).filter_by(city="riyadh").first()
        s.add(Snapshot(document_id=doc.id, url="http://127.0.0.1:9/riyadh/new.html", raw_sha256="e" * 64,
                       text_sha256="e" * 64, language="ar", title="تقرير", text="اكتمل ربط المدارس بالألياف البصرية.",
                       fetched_at=datetime(2024, 1, 1, tzinfo=UTC)))
    report = index_snapshots(indexed, show_progress=False)
    assert (report.snapshots_indexed, report.chunks_added) == (1, 1)
    with session_scope(indexed.database) as s:
        after = dict(s.execute(select(LexicalChunk.chunk_id, LexicalChunk.id)).all())
    assert {c: after[c] for c in before} == before, "the rows already there are untouched"
    assert len(after) == len(before) + 1 == report.lexical_chunks
    assert [h.title for h in search(indexed, "الألياف البصرية", k=3, mode="lexical")] == ["تقرير"]


def test_arabic_and_chinese_terms_meet_their_queries(indexed):
    assert {h.city for h in search(indexed, "شبكة الجيل الخامس", k=5, mode="lexical")} == {"riyadh"}
    assert [h.city for h in search(indexed, "全光网络", k=5, mode="lexical", filters=Filters(city="shanghai"))] \
        == ["shanghai"]
    assert search(indexed, "全光网络", k=5, mode="lexical", filters=Filters(city="riyadh")) == []


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """A real Chroma server on a free loopback port: what several indexing processes share (Chroma's local
    persistent client is one process's)."""
    from tests.test_vectorstore import wait_for_port

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(path),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _index_process(settings: Settings) -> subprocess.Popen:
    env = {**os.environ, "EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": settings.database,
           "EVIDENCE_EMBEDDING_MODEL": "use-multilingual", "EVIDENCE_CHROMA_URL": settings.chroma_url or ""}
    return subprocess.Popen([EVIDENCE, "index", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_index_runs_at_once_embed_each_snapshot_once(tmp_path, database_url):
    with chroma_server(tmp_path / "chroma") as chroma:
        _two_index_runs(Settings(data_dir=tmp_path / "data", database_url=database_url, chroma_url=chroma,
                                 embedding_model="use-multilingual"))


def _two_index_runs(settings: Settings) -> None:
    with session_scope(settings.database) as s:
        for n in range(40):
            doc = Document(city=("tokyo", "london")[n % 2])
            s.add(doc)
            s.flush()
            s.add(Snapshot(document_id=doc.id, url=f"http://127.0.0.1:9/{n}", raw_sha256="0" * 64,
                           text_sha256=f"{n:064d}", language="en", meta={},
                           text=" ".join(random.Random(n).choices(WORDS, k=900))))
    runs = [_index_process(settings) for _ in range(2)]
    reports = [json.loads(r.communicate(timeout=600)[0]) for r in runs]
    assert all(r.returncode == 0 for r in runs)
    with session_scope(settings.database) as s:
        chunks = s.scalar(select(func.count()).select_from(Chunk))
        done = s.scalar(select(func.count()).select_from(IndexedSnapshot).where(IndexedSnapshot.done_at.is_not(None)))
    assert sum(r["snapshots_indexed"] for r in reports) == done == 40, reports
    assert sum(r["chunks_added"] for r in reports) == chunks, "no chunk embedded twice"
    # each run counts what the shared store holds when it ends: the one ending last sees every chunk
    assert max(r["chunks_total"] for r in reports) == chunks == max(r["lexical_chunks"] for r in reports)


def test_a_dead_runs_claim_is_taken_over_after_its_lease(indexed):
    with session_scope(indexed.database) as s:
        ids = list(s.scalars(select(Snapshot.id)))
    claimed = _Run(indexed, "some-model").claim(ids)
    assert claimed == sorted(ids)
    assert _Run(indexed, "some-model").claim(ids) == [], "a live claim is another run's"
    lapsed = indexed.model_copy(update={"index": indexed.index.model_copy(update={"claim_seconds": 0.0})})
    time.sleep(0.01)
    assert _Run(lapsed, "some-model").claim(ids) == sorted(ids)


def test_more_ids_than_postgresql_takes_parameters(indexed):
    """70,000 ids (PostgreSQL refuses more than 65,535 parameters in one statement) are read in batches."""
    with session_scope(indexed.database) as s:
        real = list(s.scalars(select(Chunk.id)))
    asked = {f"s{n}:0-1" for n in range(70_000)} | set(real)
    assert set(_rows(indexed, asked)) == set(real)


def test_two_records_on_one_chroma_server_never_share_a_collection(tmp_path):
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(tmp_path / "srv"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from tests.test_vectorstore import wait_for_port

        wait_for_port(port)
        records = [Settings(data_dir=tmp_path / name, database_url=f"sqlite:///{tmp_path / name / 'e.db'}",
                            chroma_url=f"http://127.0.0.1:{port}", embedding_model="use-multilingual")
                   for name in ("first", "second")]
        for s in records:
            seed(s.database)  # the same snapshot ids and chunk ids in both records
        first = index_snapshots(records[0], show_progress=False)
        with session_scope(records[1].database) as s:  # the second record's Shanghai page says something else
            s.query(Snapshot).filter(Snapshot.url.like("%/shanghai/%")).update({"text": "浦东新区开通自动驾驶公交线路。"})
        second = index_snapshots(records[1], show_progress=False)
        assert first.chunks_added == second.chunks_added == first.chunks_total == second.chunks_total > 0
        for s, wanted in zip(records, ("千兆", "自动驾驶")):
            hit = search(s, "上海", k=1, mode="dense", filters=Filters(city="shanghai"))[0]
            assert wanted in hit.text
    finally:
        server.terminate()
        server.wait(timeout=30)
