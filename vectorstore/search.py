"""Hybrid search: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank.

Dense retrieval carries a query across languages (English finds Arabic); lexical retrieval catches exact
terms, names and numbers the embedder blurs. Filters apply to both halves before fusion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import select

from evidence.database import session_scope
from evidence.record import Chunk, Document, Snapshot
from evidence.settings import Settings
from vectorstore.embeddings import get_embedder
from vectorstore.index import lexical_dir
from vectorstore.lexical import LexicalIndex, current_version, term_matches
from vectorstore.store import ChunkStore

Mode = Literal["hybrid", "dense", "lexical"]
RRF_K = 60


@dataclass(frozen=True)
class Filters:
    city: str | None = None
    edition: str | None = None
    language: str | None = None
    since: date | None = None
    until: date | None = None
    document: int | None = None  # one document (all it says, and nothing else)
    history: bool = False  # include superseded snapshots

    def where(self) -> dict | None:
        clauses: list[dict] = []  # superseded snapshots live in the history collection, not behind a filter
        if self.city:
            clauses.append({"city": self.city})
        if self.edition:
            clauses.append({"editions": {"$contains": self.edition}})
        if self.language:
            clauses.append({"language": self.language})
        if self.document is not None:
            clauses.append({"document_id": self.document})
        if self.since:
            clauses.append({"date": {"$gte": int(self.since.strftime("%Y%m%d"))}})
        if self.until:
            clauses.append({"date": {"$lte": int(self.until.strftime("%Y%m%d"))}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def mask(self, fields: ChunkFields) -> np.ndarray:
        """The chunks the lexical half may return, computed column-wise over every chunk at once."""
        allowed = np.ones(len(fields.city), dtype=bool) if self.history else fields.latest.copy()
        if self.city:
            allowed &= fields.city == self.city
        if self.edition:
            allowed &= fields.in_edition(self.edition)
        if self.language:
            allowed &= fields.language == self.language
        if self.document is not None:
            allowed &= fields.document == self.document
        if self.since:
            allowed &= fields.date >= int(self.since.strftime("%Y%m%d"))
        if self.until:
            allowed &= fields.date <= int(self.until.strftime("%Y%m%d"))
        return allowed


@dataclass
class ChunkFields:
    """Per-chunk filter fields of the lexical index, as columns (one entry per indexed chunk)."""

    city: np.ndarray
    document: np.ndarray
    language: np.ndarray
    date: np.ndarray
    latest: np.ndarray
    editions: list[list[str]]

    @classmethod
    def from_rows(cls, rows: list[dict]) -> ChunkFields:
        return cls(np.array([r["city"] for r in rows], dtype=object),
                   np.array([r.get("document", -1) for r in rows], dtype=np.int64),
                   np.array([r["language"] for r in rows], dtype=object),
                   np.array([r["date"] for r in rows], dtype=np.int64), np.array([r["latest"] for r in rows], dtype=bool),
                   [r["editions"] for r in rows])

    def in_edition(self, edition: str) -> np.ndarray:
        return np.fromiter((edition in e for e in self.editions), dtype=bool, count=len(self.editions))


@dataclass
class Hit:
    chunk_id: str
    score: float
    dense_rank: int | None
    lexical_rank: int | None
    text: str
    highlights: list[tuple[int, int]]  # query-term matches, offsets within `text`
    start: int                         # the passage's offsets within its snapshot's text
    end: int
    city: str
    language: str | None
    title: str | None
    url: str
    snapshot_id: int
    snapshot_date: str
    published_on: str | None = None
    section: tuple[str, ...] = ()  # the headings the passage sits under, the outermost first
    document_id: int | None = None
    extra: dict = field(default_factory=dict)


@lru_cache(maxsize=4)
def _lexical(version: Path | None) -> tuple[LexicalIndex, ChunkFields]:
    """One version's index and fields (a version never changes once published: cached by its folder)."""
    fields_file = version / "fields.json" if version else None
    rows = json.loads(fields_file.read_text(encoding="utf-8")) if fields_file and fields_file.exists() else []
    return LexicalIndex.load(version), ChunkFields.from_rows(rows)


@lru_cache(maxsize=4096)
def query_vector(model: str, query: str) -> np.ndarray:
    """Query embeddings are reused: the proposer asks the same ladder queries for every city."""
    return get_embedder(model).query(query)


def load_lexical(settings: Settings) -> tuple[LexicalIndex, ChunkFields]:
    return _lexical(current_version(lexical_dir(settings)))


def fuse(rankings: list[list[tuple[str, float]]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: each list adds weight/(k + rank) to the ids it ranks (ties broken
    by id, so a search, and a proposal's evidence, is repeatable)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, weight) in enumerate(ranking, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class Ask:
    """One query of a batch: its text, how many hits, and how it is searched."""

    text: str
    k: int = 10
    mode: Mode = "hybrid"


def search(settings: Settings, query: str, k: int = 10, filters: Filters = Filters(), mode: Mode = "hybrid",
           model: str | None = None) -> list[Hit]:
    return search_many(settings, [Ask(query, k, mode)], filters, model, highlight=True)[0]


def search_many(settings: Settings, asks: list[Ask], filters: Filters = Filters(), model: str | None = None,
                highlight: bool = False) -> list[list[Hit]]:
    """Many queries under one filter (the proposer asks dozens per question): the filter's mask is
    computed once, the dense queries go to Chroma in one call, and the record is read once for every
    hit. Highlights (query terms marked in each hit) cost a word segmentation per hit: only on request."""
    dense = _dense(settings, asks, filters, model)
    lexical = _lexical_rankings(settings, asks, filters)
    fused = [fuse([r for r in (d, lx) if r])[:ask.k] for ask, d, lx in zip(asks, dense, lexical)]
    rows = _rows(settings, {cid for ranking in fused for cid, _ in ranking})
    return [_hits(rows, ask.text if highlight else None, ranking, d, lx)
            for ask, ranking, d, lx in zip(asks, fused, dense, lexical)]


def _depth(k: int) -> int:
    return max(50, 5 * k)


def _dense(settings: Settings, asks: list[Ask], filters: Filters, model: str | None) -> list[list[tuple[str, float]]]:
    """Each ask's dense ranking as (chunk id, weight in fusion); empty for lexical asks."""
    wanted = [n for n, ask in enumerate(asks) if ask.mode in ("hybrid", "dense")]
    out: list[list[tuple[str, float]]] = [[] for _ in asks]
    if not wanted:
        return out
    embedder = get_embedder(model or settings.embedding_model)
    store = ChunkStore.open(settings, embedder.name, embedder.dim)
    vectors = [query_vector(embedder.name, asks[n].text) for n in wanted]
    depth = max(_depth(asks[n].k) for n in wanted)
    for n, found in zip(wanted, store.query_many(vectors, depth, filters.where(), filters.history)):
        out[n] = [(cid, 1.0) for cid, _ in found[:_depth(asks[n].k)]]
    return out


def _lexical_rankings(settings: Settings, asks: list[Ask], filters: Filters) -> list[list[tuple[str, float]]]:
    """Each ask's BM25 ranking, a vote weighted by the squared share of the query's terms it holds."""
    out: list[list[tuple[str, float]]] = [[] for _ in asks]
    if not any(ask.mode in ("hybrid", "lexical") for ask in asks):
        return out
    index, fields = load_lexical(settings)
    allowed = filters.mask(fields)
    if not allowed.any():
        return out
    for n, ask in enumerate(asks):
        if ask.mode in ("hybrid", "lexical"):
            out[n] = [(cid, coverage ** 2) for cid, _, coverage in
                      index.search(ask.text, _depth(ask.k), allowed, filters.language)]
    return out


_SNAPSHOT_FIELDS = (Snapshot.id, Snapshot.language, Snapshot.title, Snapshot.url, Snapshot.fetched_at,
                    Snapshot.published_on, Snapshot.document_id)  # never its text: a long report would be read once per hit


def _rows(settings: Settings, chunk_ids: set[str]) -> dict[str, tuple]:
    if not chunk_ids:
        return {}
    with session_scope(settings.database) as session:
        return {row[0].id: row for row in session.execute(
            select(Chunk, *_SNAPSHOT_FIELDS, Document.city).join(Snapshot, Chunk.snapshot_id == Snapshot.id)
            .join(Document, Snapshot.document_id == Document.id).where(Chunk.id.in_(sorted(chunk_ids))))}


def _hits(rows: dict[str, tuple], query: str | None, fused: list[tuple[str, float]],
          dense: list[tuple[str, float]], lexical: list[tuple[str, float]]) -> list[Hit]:
    dense_rank = {c: n for n, (c, _) in enumerate(dense, 1)}
    lexical_rank = {c: n for n, (c, _) in enumerate(lexical, 1)}
    hits = []
    for chunk_id, score in fused:
        if chunk_id not in rows:
            continue  # indexed in Chroma but gone from this record (another database): skip, never invent
        c, snapshot_id, language, title, url, fetched_at, published_on, document_id, city = rows[chunk_id]
        hits.append(Hit(chunk_id, score, dense_rank.get(chunk_id), lexical_rank.get(chunk_id), c.text,
                        term_matches(query, c.text, c.language) if query else [], c.start, c.end, city, language,
                        title, url, snapshot_id, fetched_at.date().isoformat(),
                        published_on.isoformat() if published_on else None, tuple(c.section or ()), document_id))
    return hits
