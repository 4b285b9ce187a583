"""Evidence per question: the best distinct passages of one city's index for one indicator.

Queries come from the framework (the indicator, then each rung). The framework is written in English
and Chinese: English queries are always asked, Chinese ones when the city speaks Chinese. For a city's
other languages the English texts are used as they are, in hybrid search: dense retrieval is
cross-lingual (an English rung finds an Arabic page). Where the cue file has terms in the city's
language, one lexical query per rung is also asked in that language from them (a bag of terms is what
BM25 is for, and it costs no embedding). The rankings are fused, passages that say the same thing
(overlapping chunks of one snapshot, identical text) are kept once, passages that address an AI reader
are excluded and recorded, and the rest are kept within a token budget.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from evidence.settings import Settings
from evidence.vocabulary import City, Indicator
from review.proposer.cues import load_cues
from review.proposer.untrusted import instruction_to_machines
from vectorstore.chunking import approx_tokens
from vectorstore.search import RRF_K, Filters, Hit, search

BUDGET_TOKENS = 1500
PER_QUERY = 8


@dataclass(frozen=True)
class Query:
    text: str
    language: str  # the language it is written in
    mode: str = "hybrid"


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    snapshot_id: int
    text: str
    language: str | None
    url: str
    title: str | None
    date: str  # published, else fetched (ISO)


@dataclass
class Evidence:
    edition: str
    city: str
    indicator: str
    passages: list[Passage]
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (chunk id, why)
    queries: list[Query] = field(default_factory=list)

    @property
    def chunk_ids(self) -> list[str]:
        return [p.chunk_id for p in self.passages]

    @property
    def snapshot_ids(self) -> list[int]:
        return sorted({p.snapshot_id for p in self.passages})

    def by_chunk(self) -> dict[str, Passage]:
        return {p.chunk_id: p for p in self.passages}

    def digest(self) -> str:
        """Identifies the evidence exactly: the chunks and their texts, in order."""
        h = hashlib.sha256()
        for p in self.passages:
            h.update(f"{p.chunk_id}\x00{p.text}\x01".encode())
        return h.hexdigest()


def queries_for(indicator: Indicator, city: City) -> list[Query]:
    def framework_queries(lang: str) -> list[Query]:
        name = indicator.name.get(lang)
        about = indicator.description.get(lang) if indicator.description else ""
        sep = "：" if lang == "zh" else ": "
        return [Query(name + (sep + about if about else ""), lang)] + [
            Query(name + sep + rung.text.get(lang), lang) for rung in indicator.rungs]

    queries = framework_queries("en") + (framework_queries("zh") if "zh" in city.languages else [])
    cues = load_cues()
    for language in dict.fromkeys(city.languages):
        if language in ("en", "zh"):
            continue
        for rung in indicator.rungs:
            terms = [t.text.replace("*", "") for t in cues.rungs.get(indicator.id, {}).get(rung.level, {}).get(language, ())]
            if terms:
                queries.append(Query(" ".join(terms), language, "lexical"))
    return queries


def fuse(rankings: list[list[str]]) -> list[str]:
    """Reciprocal rank fusion of the queries' rankings (ties broken by chunk id, so a run is repeatable)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))


def _overlaps(a: Hit, b: Hit) -> bool:
    """Two chunks of one snapshot sharing more than half of the shorter one."""
    if a.snapshot_id != b.snapshot_id:
        return False
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared > 0.5 * min(a.end - a.start, b.end - b.start)


def _fingerprint(text: str) -> str:
    return re.sub(r"\W+", "", text).lower()


def select(ranked: list[Hit], budget: int) -> tuple[list[Hit], list[tuple[str, str]]]:
    """The best distinct passages within the budget, and the ones excluded as instructions to machines."""
    kept: list[Hit] = []
    excluded: list[tuple[str, str]] = []
    seen: set[str] = set()
    used = 0
    for hit in ranked:
        instruction = instruction_to_machines(hit.text)
        if instruction:
            excluded.append((hit.chunk_id, f"addresses AI readers: {instruction!r}"))
            continue
        fingerprint = _fingerprint(hit.text)
        if fingerprint in seen or any(_overlaps(hit, k) for k in kept):
            continue
        cost = approx_tokens(hit.text)
        if kept and used + cost > budget:
            continue
        kept.append(hit)
        seen.add(fingerprint)
        used += cost
    return kept, excluded


def gather(settings: Settings, edition: str, city: City, indicator: Indicator, budget: int = BUDGET_TOKENS,
           per_query: int = PER_QUERY) -> Evidence:
    queries = queries_for(indicator, city)
    hits: dict[str, Hit] = {}
    rankings: list[list[str]] = []
    for query in queries:
        found = search(settings, query.text, per_query, Filters(city=city.id), query.mode)  # type: ignore[arg-type]
        hits.update((h.chunk_id, h) for h in found)
        rankings.append([h.chunk_id for h in found])
    ranked = [hits[chunk_id] for chunk_id in fuse(rankings)]
    kept, excluded = select(ranked, budget)
    passages = [Passage(h.chunk_id, h.snapshot_id, h.text, h.language, h.url, h.title, h.published_on or h.snapshot_date)
                for h in kept]
    return Evidence(edition, city.id, indicator.id, passages, excluded, queries)
