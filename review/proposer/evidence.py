"""Evidence per question: the best distinct passages of one city's index (or of one of its documents)
for one indicator.

Queries come from the framework (the indicator, then each rung) in every language of the city the
framework is written in, English always: dense retrieval is cross-lingual (an English rung finds an
Arabic page). Long reports bury the one sentence that matters among hundreds, so every cue term of every
rung (cues.yaml, in the city's languages, English and the language-neutral ones) is also asked on its
own, lexically: one term per query, so a passage that names "5G" once is not outvoted by passages that
share many common words with a long query. The rankings are fused, passages that say the same thing
(overlapping chunks of one snapshot, identical text) are kept once, passages that address an AI reader
are excluded and recorded, and the rest are kept within a token budget. Each passage keeps its section
(the headings it sits under) and each document its voice (its year, how much of it states plans), which
the status of a citation is read from.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from sqlalchemy import select as select_rows

from evidence.database import session_scope
from evidence.record import Snapshot
from evidence.settings import Settings
from evidence.vocabulary import City, Indicator
from review.proposer.cues import Cues, load_cues
from review.proposer.status import DocumentVoice, document_voice, document_year, text_languages
from review.proposer.untrusted import instruction_to_machines
from vectorstore.chunking import approx_tokens
from vectorstore.search import Ask, Filters, Hit, Mode, fuse, search_many

BUDGET_TOKENS = 1500  # what one LLM prompt carries
OFFLINE_BUDGET_TOKENS = 12000  # the offline rules cost nothing per token: they read far more
PER_QUERY = 8
PER_TERM = 12  # passages per cue-term query


@dataclass(frozen=True)
class Query:
    text: str
    language: str  # the language it is written in
    mode: Mode = "hybrid"


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    snapshot_id: int
    text: str
    language: str | None
    url: str
    title: str | None
    date: str  # published, else fetched (ISO)
    section: tuple[str, ...] = ()  # the headings it sits under, the outermost first


@dataclass
class Evidence:
    edition: str
    city: str
    indicator: str
    passages: list[Passage]
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (chunk id, why)
    queries: list[Query] = field(default_factory=list)
    voices: dict[int, DocumentVoice] = field(default_factory=dict)  # snapshot id -> its document's voice
    document: int | None = None  # the one document the evidence was drawn from, if restricted to one

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


FRAMEWORK_LANGUAGES = ("en", "zh")  # the languages the framework's ladders are written in


def queries_for(indicator: Indicator, city: City, cues: Cues | None = None) -> list[Query]:
    def framework_queries(lang: str) -> list[Query]:
        name = indicator.name.get(lang)
        about = indicator.description.get(lang) if indicator.description else ""
        sep = "：" if lang == "zh" else ": "
        return [Query(name + (sep + about if about else ""), lang)] + [
            Query(name + sep + rung.text.get(lang), lang) for rung in indicator.rungs]

    languages = list(dict.fromkeys([*city.languages, "en"]))
    queries = [q for lang in languages if lang in FRAMEWORK_LANGUAGES for q in framework_queries(lang)]
    cues = cues or load_cues()
    for rung in indicator.rungs:
        for term in cues.for_rung(indicator.id, rung.level, languages):
            queries.append(Query(term.text.replace("*", ""), "any", "lexical"))
    return list(dict.fromkeys(queries))


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
           per_query: int = PER_QUERY, document: int | None = None, cues: Cues | None = None) -> Evidence:
    queries = queries_for(indicator, city, cues)
    hits: dict[str, Hit] = {}
    rankings: list[list[tuple[str, float]]] = []  # each query's ranking, every vote of weight 1
    asks = [Ask(q.text, PER_TERM if q.mode == "lexical" else per_query, q.mode) for q in queries]
    for found in search_many(settings, asks, Filters(city=city.id, document=document)):
        hits.update((h.chunk_id, h) for h in found)
        rankings.append([(h.chunk_id, 1.0) for h in found])
    ranked = [hits[chunk_id] for chunk_id, _ in fuse(rankings)]
    kept, excluded = select(ranked, budget)
    passages = [Passage(h.chunk_id, h.snapshot_id, h.text, h.language, h.url, h.title,
                        h.published_on or h.snapshot_date, h.section) for h in kept]
    voices = document_voices(settings, {p.snapshot_id for p in passages}, city)
    return Evidence(edition, city.id, indicator.id, passages, excluded, queries, voices, document)


def document_voices(settings: Settings, snapshot_ids: set[int], city: City) -> dict[int, DocumentVoice]:
    """Each snapshot's year and voice, read from its whole text (snapshots never change: read once)."""
    known = _VOICES.setdefault(settings.database, {})
    missing = snapshot_ids - known.keys()
    if missing:
        with session_scope(settings.database) as session:
            for snap in session.scalars(select_rows(Snapshot).where(Snapshot.id.in_(sorted(missing)))):
                year = document_year(snap.text, snap.published_on.year if snap.published_on else None,
                                     snap.fetched_at.year)
                known[snap.id] = document_voice(snap.text, snap.language, year, text_languages(snap.language, city))
    return {i: known[i] for i in snapshot_ids if i in known}


_VOICES: dict[str, dict[int, DocumentVoice]] = {}  # database -> snapshot id -> voice
