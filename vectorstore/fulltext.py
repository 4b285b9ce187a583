"""The lexical index in the record: the database's own full-text search finds, BM25 ranks.

Each chunk is a `lexical_chunks` row holding its terms (`lexical.terms`, space-joined) and the fields
filters need; SQLite's FTS5 table `lexical_fts` or PostgreSQL's GIN-indexed tsvector column indexes the
terms (migration 0010). Adding a chunk adds its row and its terms' counts (`lexical_terms`) in the same
transaction: nothing is rebuilt, and every machine searching the record sees the same index.

The database only finds the chunks holding a query term; their BM25 scores are computed here, with the
same formula as the bm25s index this replaces (Lucene's: k1 1.5, b 0.75) on both backends, from the terms
the rows carry and the corpus counts, so a search ranks alike on SQLite and PostgreSQL. A batch of queries
with rare terms is served by one statement; otherwise a query's terms are read rarest first, stopping once
no chunk still unseen (holding only commoner terms) could enter the top k (MaxScore): a query whose rare
term decides the ranking never reads the chunks that only share its common words.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, cast, column, literal_column, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from evidence.record import LexicalChunk, LexicalTerm
from vectorstore.lexical import query_language, terms

K1, B = 1.5, 0.75
PREFETCH = 20_000  # chunks read at most by one statement serving every query of a batch
EVERY_CHUNK = ""  # the lexical_terms row counting every chunk and token (no term is empty)
_FTS = table("lexical_fts", column("rowid"))


@dataclass(frozen=True)
class Scope:
    """The chunks a search may return: some cities (None: all), and conditions on `LexicalChunk`'s columns."""

    cities: tuple[str, ...] | None = None
    conditions: tuple[ColumnElement[bool], ...] = ()


@dataclass(frozen=True)
class Stats:
    chunks: int
    avg_length: float
    df: dict[str, int]

    def idf(self, term: str) -> float:
        df = self.df[term]
        return math.log(1 + (self.chunks - df + 0.5) / (df + 0.5))


def insert_for(session: Session):
    """The backend's INSERT, which has ON CONFLICT (DO NOTHING, DO UPDATE)."""
    return sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert


def add(session: Session, rows: list[dict]) -> int:
    """Add chunks (LexicalChunk fields, `terms` a list) not yet in the index, and count their terms.
    A chunk already there (another run added it) is left as it is and counted once. Returns those added."""
    if not rows:
        return 0
    insert = insert_for(session)
    values = [{**r, "terms": " ".join(r["terms"]), "length": len(r["terms"])} for r in rows]
    added = set(session.scalars(insert(LexicalChunk).on_conflict_do_nothing(index_elements=["chunk_id"])
                                .returning(LexicalChunk.chunk_id), values))
    counts: dict[str, list[int]] = {EVERY_CHUNK: [0, 0]}
    for r in rows:
        if r["chunk_id"] in added:
            counts[EVERY_CHUNK][0] += 1
            counts[EVERY_CHUNK][1] += len(r["terms"])
            for term, tf in Counter(r["terms"]).items():
                c = counts.setdefault(term, [0, 0])
                c[0] += 1
                c[1] += tf
    if added:
        stmt = insert(LexicalTerm)
        stmt = stmt.on_conflict_do_update(index_elements=["term"], set_={
            "chunks": LexicalTerm.chunks + stmt.excluded.chunks, "tokens": LexicalTerm.tokens + stmt.excluded.tokens})
        # in term order: two writers lock the rows they share in one order, so they wait and never deadlock
        session.execute(stmt, [{"term": t, "chunks": c, "tokens": n} for t, (c, n) in sorted(counts.items())])
    return len(added)


def supersede(session: Session, document_id: int, latest_snapshot: int) -> None:
    """Only the chunks of a document's newest snapshot stay `latest` (the default search's)."""
    session.execute(update(LexicalChunk).where(LexicalChunk.document_id == document_id)
                    .values(latest=LexicalChunk.snapshot_id == latest_snapshot))


def stats(session: Session, wanted: Iterable[str]) -> Stats:
    """Corpus counts for these terms (one query for every ask of a batch)."""
    keys = sorted(set(wanted) | {EVERY_CHUNK})
    df, tokens = {}, 0
    for i in range(0, len(keys), 5000):
        for term, chunks, n in session.execute(select(LexicalTerm.term, LexicalTerm.chunks, LexicalTerm.tokens)
                                               .where(LexicalTerm.term.in_(keys[i:i + 5000]))):
            df[term] = chunks
            tokens = n if term == EVERY_CHUNK else tokens
    total = df.pop(EVERY_CHUNK, 0)
    return Stats(total, tokens / total if total else 0.0, df)


def query_terms(query: str, language: str | None) -> list[str]:
    return terms(query, language or query_language(query))


def search_many(session: Session, queries: list[list[str]], ks: list[int], scope: Scope,
                corpus: Stats) -> list[list[tuple[str, float, float]]]:
    """Each query's top-k (chunk id, BM25 score, coverage) within the scope; a query is its terms
    (`query_terms`). Coverage is the share of the query's terms the chunk contains: one shared term such as
    "5G" in a long query is weak evidence of a match, and fusion weighs the lexical vote by it.

    When the queries' terms are rare enough that the chunks holding any of them number PREFETCH at most
    (their corpus counts tell), one statement reads those chunks for every query; otherwise each query
    reads its own, rarest term first (`search`)."""
    if scope.cities == ():
        return [[] for _ in queries]
    union = sorted({t for q in queries for t in q if corpus.df.get(t)})
    if sum(corpus.df[t] for t in union) > PREFETCH:
        return [search(session, q, k, scope, corpus) for q, k in zip(queries, ks)]
    rows: dict[str, list[str]] = {}
    postings: dict[str, list[str]] = {t: [] for t in union}
    if union:
        for chunk_id, text in session.execute(_matching(session, union, [], scope)):
            rows[chunk_id] = text.split()
            for t in set(rows[chunk_id]).intersection(postings):
                postings[t].append(chunk_id)
    out = []
    for q, k in zip(queries, ks):
        idf = {t: corpus.idf(t) for t in sorted(set(q)) if t in postings}  # one order of summing, as `search`
        scored = {cid: _score(rows[cid], idf, corpus.avg_length, len(set(q))) for t in idf for cid in postings[t]}
        out.append(_top(scored, k))
    return out


def search(session: Session, query: list[str], k: int, scope: Scope, corpus: Stats) -> list[tuple[str, float, float]]:
    """One query's top k, reading its terms' chunks rarest term first, and no further once no chunk still
    unseen (holding only commoner terms) could enter the top k (MaxScore)."""
    distinct = set(query)
    known = sorted((t for t in distinct if corpus.df.get(t)), key=lambda t: (-corpus.idf(t), t))
    if not known or k <= 0 or scope.cities == ():
        return []
    idf = {t: corpus.idf(t) for t in sorted(known)}
    scored: dict[str, tuple[float, float]] = {}
    for n, term in enumerate(known):
        for chunk_id, text in session.execute(_matching(session, [term], known[:n], scope)):
            scored[chunk_id] = _score(text.split(), idf, corpus.avg_length, len(distinct))
        unseen_best = sum(idf[t] for t in known[n + 1:])  # a term adds less than its idf (tf / (tf + norm) < 1)
        if len(scored) >= k and heapq.nlargest(k, (s for s, _ in scored.values()))[-1] >= unseen_best:
            break
    return _top(scored, k)


def _top(scored: dict[str, tuple[float, float]], k: int) -> list[tuple[str, float, float]]:
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
    return [(chunk_id, score, coverage) for chunk_id, (score, coverage) in ranked]


def _score(chunk_terms: list[str], idf: dict[str, float], avg_length: float, query_size: int) -> tuple[float, float]:
    counts = Counter(chunk_terms)
    norm = K1 * (1 - B + B * len(chunk_terms) / avg_length)
    found = [(idf[t], counts[t]) for t in idf if t in counts]
    return sum(w * tf / (tf + norm) for w, tf in found), len(found) / query_size


def _matching(session: Session, wanted: Sequence[str], earlier: Sequence[str], scope: Scope):
    """Chunks in the scope holding any `wanted` term but none of the `earlier` (already read) terms."""
    if session.get_bind().dialect.name == "sqlite":
        match = f"(terms : ({' OR '.join(map(_fts_phrase, wanted))}))"
        if earlier:
            match = f"({match} NOT (terms : ({' OR '.join(map(_fts_phrase, earlier))})))"
        if scope.cities is not None:
            match += f" AND (city : ({' OR '.join(map(_fts_phrase, scope.cities))}))"
        return (select(LexicalChunk.chunk_id, LexicalChunk.terms).join(_FTS, _FTS.c.rowid == LexicalChunk.id)
                .where(literal_column("lexical_fts").op("MATCH")(match), *scope.conditions))
    tsquery = f"({' | '.join(map(_ts_lexeme, wanted))})" + (f" & !({' | '.join(map(_ts_lexeme, earlier))})" if earlier else "")
    stmt = (select(LexicalChunk.chunk_id, LexicalChunk.terms)
            .where(literal_column("tsv").op("@@")(cast(tsquery, postgresql.TSQUERY)), *scope.conditions))
    return stmt.where(LexicalChunk.city.in_(scope.cities)) if scope.cities is not None else stmt


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _ts_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
