"""The dense half: one Chroma collection per embedding model, persistent locally or on a Chroma server.

The collection records the model that built it and refuses vectors from any other, so an index is never
a mix of models; switching model builds (and searches) that model's own collection. We always hand
Chroma our own embeddings: its default embedding function would try to download a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import chromadb
import numpy as np

from evidence.errors import EvidenceError
from evidence.settings import Settings

BATCH = 2000


def client_for(settings: Settings):
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                   ssl=url.scheme == "https")
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path))


def collection_name(model: str) -> str:
    return "evidence-" + "".join(c if c.isalnum() or c in "._-" else "-" for c in model)


@dataclass
class ChunkStore:
    collection: "chromadb.Collection"
    model: str

    @classmethod
    def open(cls, settings: Settings, model: str, dim: int) -> "ChunkStore":
        collection = client_for(settings).get_or_create_collection(
            collection_name(model), embedding_function=None,
            metadata={"embedding_model": model, "dim": dim, "hnsw:space": "cosine"})
        built_with = (collection.metadata or {}).get("embedding_model")
        if built_with != model:
            raise EvidenceError(f"Chroma collection {collection.name} was built with {built_with!r}, not {model!r}")
        return cls(collection, model)

    def add(self, model: str, ids: list[str], vectors: np.ndarray, texts: list[str], metadatas: list[dict]) -> None:
        if model != self.model:
            raise EvidenceError(f"refusing to add {model} vectors to the {self.model} collection")
        for i in range(0, len(ids), BATCH):
            self.collection.upsert(ids=ids[i:i + BATCH], embeddings=vectors[i:i + BATCH].tolist(),
                                   documents=texts[i:i + BATCH], metadatas=metadatas[i:i + BATCH])

    def indexed_snapshots(self, snapshot_ids: list[int]) -> set[int]:
        found: set[int] = set()
        for i in range(0, len(snapshot_ids), 500):
            got = self.collection.get(where={"snapshot_id": {"$in": snapshot_ids[i:i + 500]}}, include=["metadatas"])
            found.update(m["snapshot_id"] for m in got["metadatas"])
        return found

    def supersede(self, document_id: int, latest_snapshot: int) -> None:
        """Older snapshots of a document stay retrievable for history but leave the default search."""
        got = self.collection.get(where={"$and": [{"document_id": document_id}, {"latest": True}]},
                                  include=["metadatas"])
        stale = [(i, {**m, "latest": False}) for i, m in zip(got["ids"], got["metadatas"])
                 if m["snapshot_id"] != latest_snapshot]
        if stale:
            self.collection.update(ids=[i for i, _ in stale], metadatas=[m for _, m in stale])

    def query(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[str, float]]:
        count = self.collection.count()
        if count == 0:
            return []
        got = self.collection.query(query_embeddings=[vector.tolist()], n_results=min(k, count), where=where,
                                    include=["distances"])
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0])]

    def count(self) -> int:
        return self.collection.count()
