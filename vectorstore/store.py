"""The dense half: Chroma collections per record, model and city, persistent locally or on a Chroma server.

Names carry the record's identity (`record_identity`, made with the record), so two records on one Chroma
server never share a collection. Each city has its own collection: the proposer's main query, one city's
evidence, is then an unfiltered query of a collection the size of one city, as fast at 15 million chunks as
at 100 thousand (a Chroma metadata filter costs ~10x and grows with the collection). An unfiltered search
asks every city's collection and merges. Chunks of superseded snapshots move to one `-history` collection
per model, which the default search never reads. Each collection records the model that built it and
refuses vectors from any other. We always hand Chroma our own embeddings: its default embedding function
would try to download a model.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.errors import NotFoundError
from sqlalchemy import select

from evidence.database import session_scope
from evidence.errors import EvidenceError
from evidence.record import RecordIdentity
from evidence.settings import Settings

BATCH = 2000
HISTORY = "history"  # no city id can be this: registry ids are place names


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


@lru_cache(maxsize=64)
def record_identity(database: str) -> str:
    with session_scope(database) as session:
        identity = session.scalar(select(RecordIdentity.id))
    if identity is None:
        raise EvidenceError(f"the record has no identity row (record_identity); run the migrations on {database!r}")
    return identity


def _slug(name: str) -> str:
    """A name Chroma accepts ([a-zA-Z0-9._-]); a changed name gets a hash of the original, so none collide."""
    clean = re.sub(r"[^a-zA-Z0-9._-]", "-", name).strip("-.") or "x"
    return clean if clean == name else f"{clean}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def collection_prefix(identity: str, model: str) -> str:
    """Of fixed length (so no record's, model's and city's names run together into another's); the model's
    name is in each collection's metadata."""
    return f"e{identity[:16]}-{hashlib.sha1(model.encode()).hexdigest()[:8]}-"


@dataclass
class ChunkStore:
    client: Any
    prefix: str  # of this record's and model's collections
    model: str
    dim: int

    @classmethod
    def open(cls, settings: Settings, model: str, dim: int) -> ChunkStore:
        return cls(client_for(settings), collection_prefix(record_identity(settings.database), model), model, dim)

    def _collection(self, part: str, create: bool) -> chromadb.Collection | None:
        collection = _open(self.client, self.prefix + _slug(part), part, self.model, self.dim, create)
        return self._checked(collection) if collection is not None else None

    def _checked(self, collection: chromadb.Collection) -> chromadb.Collection:
        built_with = (collection.metadata or {}).get("embedding_model")
        if built_with != self.model:
            raise EvidenceError(f"Chroma collection {collection.name} was built with {built_with!r}, not {self.model!r}")
        return collection

    def city(self, city: str, create: bool = False) -> chromadb.Collection | None:
        """The collection of one city's latest chunks (None when it has none and `create` is false)."""
        return self._collection(city, create)

    @property
    def history(self) -> chromadb.Collection:
        return cast(chromadb.Collection, self._collection(HISTORY, True))

    def city_collections(self) -> list[chromadb.Collection]:
        """Every city's collection of this record and model (listed by the server: new ones included)."""
        return [self._checked(c) for c in self.client.list_collections()
                if c.name.startswith(self.prefix) and (c.metadata or {}).get("part") != HISTORY]

    def add(self, model: str, ids: list[str], vectors: np.ndarray, texts: list[str], metadatas: list[dict]) -> None:
        """Upsert chunks into their cities' collections (`metadatas[n]["city"]`): adding again changes nothing."""
        if model != self.model:
            raise EvidenceError(f"refusing to add {model} vectors to the {self.model} collections")
        by_city: dict[str, list[int]] = defaultdict(list)
        for n, meta in enumerate(metadatas):
            by_city[meta["city"]].append(n)
        for city, rows in by_city.items():
            collection = cast(chromadb.Collection, self.city(city, create=True))
            for i in range(0, len(rows), BATCH):
                part = rows[i:i + BATCH]
                collection.upsert(ids=[ids[n] for n in part], embeddings=vectors[part],
                                  documents=[texts[n] for n in part], metadatas=cast(Any, [metadatas[n] for n in part]))

    def supersede(self, city: str, document_id: int, latest_snapshot: int) -> None:
        """Older snapshots of a document stay retrievable for history but leave the default search."""
        collection = self.city(city)
        if collection is None:
            return
        got: Any = collection.get(where={"document_id": document_id},  # include= fills these fields
                                  include=["metadatas", "embeddings", "documents"])
        stale = [n for n, m in enumerate(got["metadatas"]) if m["snapshot_id"] != latest_snapshot]
        if not stale:
            return
        ids = [got["ids"][n] for n in stale]
        self.history.upsert(ids=ids, embeddings=cast(Any, [got["embeddings"][n] for n in stale]),
                            documents=[got["documents"][n] for n in stale],
                            metadatas=[{**got["metadatas"][n], "latest": False} for n in stale])
        collection.delete(ids=ids)

    def query_many(self, vectors: list[np.ndarray], k: int, cities: Sequence[str] | None, where: dict | None,
                   history: bool = False) -> list[list[tuple[str, float]]]:
        """The top k (chunk id, similarity) of each vector among these cities' chunks (None: every city's),
        one Chroma call per collection."""
        collections = self.city_collections() if cities is None else [self.city(c) for c in cities]
        if history:
            city_clause = None if cities is None else {"city": {"$in": list(cities)}}
            collections.append(self.history)
        found: list[list[tuple[str, float]]] = [[] for _ in vectors]
        for collection in filter(None, collections):
            clause = where if not history or collection.name != self.prefix + HISTORY else _and(where, city_clause)
            count = collection.count()
            if count and vectors:
                got: Any = collection.query(query_embeddings=np.asarray(vectors), n_results=min(k, count),
                                            where=clause, include=["distances"])
                for n, (ids, distances) in enumerate(zip(got["ids"], got["distances"])):
                    found[n] += [(i, 1.0 - d) for i, d in zip(ids, distances)]
        return [sorted(hits, key=lambda hit: (-hit[1], hit[0]))[:k] for hits in found]

    def vectors(self, city: str, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks of one city (latest or superseded)."""
        out: dict[str, np.ndarray] = {}
        for collection in filter(None, (self.city(city), self.history)):
            wanted = [i for i in ids if i not in out]
            if wanted:
                got: Any = collection.get(ids=wanted, include=["embeddings"])
                embeddings = got["embeddings"] if got["embeddings"] is not None else []
                out.update((i, np.asarray(v, dtype=np.float32)) for i, v in zip(got["ids"], embeddings))
        return out

    def count_all(self) -> int:
        """Chunks held for this record and model, superseded snapshots' included."""
        return sum(c.count() for c in self.city_collections()) + self.history.count()


def _and(a: dict | None, b: dict | None) -> dict | None:
    clauses = [c for c in (a, b) if c]
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _open(client, name: str, part: str, model: str, dim: int, create: bool) -> chromadb.Collection | None:
    if create:
        return client.get_or_create_collection(name, embedding_function=None, metadata={
            "embedding_model": model, "dim": dim, "hnsw:space": "cosine", "part": part})
    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None
