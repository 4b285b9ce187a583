"""Hybrid search: dense (Chroma) and lexical (BM25 over the record's full-text index) rankings fused by
reciprocal rank.

Dense retrieval carries a query across languages (English finds Arabic); lexical retrieval catches exact
terms, names and numbers the embedder blurs. Filters apply to both halves before fusion: a city or an
edition chooses the cities' collections and full-text rows, the other filters are conditions on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Literal

import numpy as np
from sqlalchemy import ColumnElement, select

from evidence.database import session_scope
from evidence.record import Chunk, Document, LexicalChunk, Snapshot
from evidence.settings import Settings
from sources import load_registry
from vectorstore import fulltext
from vectorstore.embeddings import get_embedder
from vectorstore.index import batched
from vectorstore.lexical import term_matches
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

    def cities(self) -> tuple[str, ...] | None:
        """The cities searched (their collections and full-text rows); None: every city."""
        if self.edition is None:
            return None if self.city is None else (self.city,)
        members = tuple(sorted(c.id for c in load_registry().in_edition(self.edition)))
        return members if self.city is None else tuple(c for c in members if c == self.city)

    def where(self) -> dict | None:
        """The Chroma filter within the cities' collections (superseded snapshots live in the history one)."""
        clauses: list[dict] = []
        if self.language:
            clauses.append({"language": self.language})
        if self.document is not None:
            clauses.append({"document_id": self.document})
        if self.since:
            clauses.append({"date": {"$gte": _day(self.since)}})
        if self.until:
            clauses.append({"date": {"$lte": _day(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def scope(self) -> fulltext.Scope:
        """The same filter on the full-text rows."""
        conditions: list[ColumnElement[bool]] = [] if self.history else [LexicalChunk.latest.is_(True)]
        if self.language:
            conditions.append(LexicalChunk.language == self.language)
        if self.document is not None:
            conditions.append(LexicalChunk.document_id == self.document)
        if self.since:
            conditions.append(LexicalChunk.date >= _day(self.since))
        if self.until:
            conditions.append(LexicalChunk.date <= _day(self.until))
        return fulltext.Scope(self.cities(), tuple(conditions))


def _day(d: date) -> int:
    return int(d.strftime("%Y%m%d"))


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


@lru_cache(maxsize=4096)
def query_vector(model: str, query: str) -> np.ndarray:
    """Query embeddings are reused: the proposer asks the same ladder queries for every city."""
    return get_embedder(model).query(query)


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
    for n, found in zip(wanted, store.query_many(vectors, depth, filters.cities(), filters.where(), filters.history)):
        out[n] = [(cid, 1.0) for cid, _ in found[:_depth(asks[n].k)]]
    return out


def _lexical_rankings(settings: Settings, asks: list[Ask], filters: Filters) -> list[list[tuple[str, float]]]:
    """Each ask's BM25 ranking, a vote weighted by the squared share of the query's terms it holds."""
    out: list[list[tuple[str, float]]] = [[] for _ in asks]
    wanted = {n: fulltext.query_terms(ask.text, filters.language) for n, ask in enumerate(asks)
              if ask.mode in ("hybrid", "lexical")}
    if not wanted:
        return out
    scope = filters.scope()
    with session_scope(settings.database) as session:
        corpus = fulltext.stats(session, {t for query in wanted.values() for t in query})
        found = fulltext.search_many(session, list(wanted.values()), [_depth(asks[n].k) for n in wanted], scope, corpus)
    for n, ranking in zip(wanted, found):
        out[n] = [(cid, coverage ** 2) for cid, _, coverage in ranking]
    return out


_SNAPSHOT_FIELDS = (Snapshot.id, Snapshot.language, Snapshot.title, Snapshot.url, Snapshot.fetched_at,
                    Snapshot.published_on, Snapshot.document_id)  # never its text: a long report would be read once per hit


def _rows(settings: Settings, chunk_ids: set[str]) -> dict[str, tuple]:
    if not chunk_ids:
        return {}
    with session_scope(settings.database) as session:
        return {row[0].id: row for ids in batched(sorted(chunk_ids)) for row in session.execute(
            select(Chunk, *_SNAPSHOT_FIELDS, Document.city).join(Snapshot, Chunk.snapshot_id == Snapshot.id)
            .join(Document, Snapshot.document_id == Document.id).where(Chunk.id.in_(ids)))}


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
