"""The dense half: one Chroma collection per embedding model, persistent locally or on a Chroma server.

The collection records the model that built it and refuses vectors from any other, so an index is never
a mix of models; switching model builds (and searches) that model's own collection. Chunks of superseded
snapshots move to a companion `-history` collection: the default search then needs no metadata filter,
which keeps Chroma on its fast unfiltered path (a filter that matches everything costs ~10x). We always hand
Chroma our own embeddings: its default embedding function would try to download a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
import numpy as np

from evidence.errors import EvidenceError
from evidence.settings import Settings

BATCH = 2000


def client_for(settings: Settings):
    return _client(settings.chroma_url, str((settings.data_dir / "chroma").resolve()))


@lru_cache(maxsize=8)
def _client(chroma_url: str | None, path: str):
    """One client per server or directory for the process: opening one costs more than a query."""
    if chroma_url:
        url = urlparse(chroma_url)
        return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https")
    Path(path).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=path)


def collection_name(model: str) -> str:
    return "evidence-" + "".join(c if c.isalnum() or c in "._-" else "-" for c in model)


@dataclass
class ChunkStore:
    collection: chromadb.Collection  # chunks of every document's latest snapshot
    history: chromadb.Collection     # chunks of superseded snapshots
    model: str

    @classmethod
    def open(cls, settings: Settings, model: str, dim: int) -> ChunkStore:
        client = client_for(settings)
        collections = []
        for name in (collection_name(model), collection_name(model) + "-history"):
            collection = client.get_or_create_collection(
                name, embedding_function=None, metadata={"embedding_model": model, "dim": dim, "hnsw:space": "cosine"})
            built_with = (collection.metadata or {}).get("embedding_model")
            if built_with != model:
                raise EvidenceError(f"Chroma collection {collection.name} was built with {built_with!r}, not {model!r}")
            collections.append(collection)
        return cls(collections[0], collections[1], model)

    def add(self, model: str, ids: list[str], vectors: np.ndarray, texts: list[str], metadatas: list[dict]) -> None:
        if model != self.model:
            raise EvidenceError(f"refusing to add {model} vectors to the {self.model} collection")
        for i in range(0, len(ids), BATCH):
            self.collection.upsert(ids=ids[i:i + BATCH], embeddings=vectors[i:i + BATCH].tolist(),
                                   documents=texts[i:i + BATCH], metadatas=cast(Any, metadatas[i:i + BATCH]))

    def chunk_counts(self, snapshot_ids: list[int]) -> Counter[int]:
        """How many chunks of each snapshot the store holds (latest and history): what is really indexed."""
        found: Counter[int] = Counter()
        for collection in (self.collection, self.history):
            for i in range(0, len(snapshot_ids), 500):
                where: Any = {"snapshot_id": {"$in": snapshot_ids[i:i + 500]}}  # Chroma's Where type is narrower
                got: Any = collection.get(where=where, include=["metadatas"])  # the include= fills "metadatas"
                found.update(m["snapshot_id"] for m in got["metadatas"])
        return found

    def supersede(self, document_id: int, latest_snapshot: int) -> None:
        """Older snapshots of a document stay retrievable for history but leave the default search."""
        got: Any = self.collection.get(where={"document_id": document_id},  # include= fills these fields
                                  include=["metadatas", "embeddings", "documents"])
        stale = [n for n, m in enumerate(got["metadatas"]) if m["snapshot_id"] != latest_snapshot]
        if not stale:
            return
        ids = [got["ids"][n] for n in stale]
        self.history.upsert(ids=ids, embeddings=cast(Any, [got["embeddings"][n] for n in stale]),
                            documents=[got["documents"][n] for n in stale],
                            metadatas=[{**got["metadatas"][n], "latest": False} for n in stale])
        self.collection.delete(ids=ids)

    def query(self, vector: np.ndarray, k: int, where: dict | None, history: bool = False) -> list[tuple[str, float]]:
        return self.query_many([vector], k, where, history)[0]

    def query_many(self, vectors: list[np.ndarray], k: int, where: dict | None,
                   history: bool = False) -> list[list[tuple[str, float]]]:
        """The top k (chunk id, similarity) of each vector, in one Chroma call per collection."""
        found: list[list[tuple[str, float]]] = [[] for _ in vectors]
        for collection in (self.collection, self.history) if history else (self.collection,):
            count = collection.count()
            if count and vectors:
                got: Any = collection.query(query_embeddings=[v.tolist() for v in vectors], n_results=min(k, count),
                                            where=where, include=["distances"])
                for n, (ids, distances) in enumerate(zip(got["ids"], got["distances"])):
                    found[n] += [(i, 1.0 - d) for i, d in zip(ids, distances)]
        return [sorted(hits, key=lambda hit: -hit[1])[:k] for hits in found]

    def count(self) -> int:
        return self.collection.count()

    def count_all(self) -> int:
        """Chunks held for this model, superseded snapshots' included."""
        return self.collection.count() + self.history.count()
