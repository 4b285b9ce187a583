"""The offline proposer: transparent rules over the same evidence, for a machine with no LLM endpoint.

For every claim (sentence, table row) of every evidence passage it looks for the cue terms of each rung
(cues.yaml, in the passage's and the city's languages, plus English and language-neutral terms such as
"5G"), for hedges (pilots, trials, studies, negations, "only", or a share under half: "at scale" is not
7 %), and reads the claim's status (status.py: achieved, under way or planned, from its grammar, its
section and the document's year). A rung is evidenced by an achieved claim that has one of its cues and
no hedge; the level is the highest evidenced rung. Embedding similarity does two jobs: a passage counts for an indicator only
if that indicator's ladder is among the TOPIC_RANK closest of the edition's ladders to it (a "cross-
regional" health passage is no evidence for government services), and the passage most similar to the
rung's description supplies the cited claim. For a language the cue file does not cover, similarity
decides alone (a hedge-free passage within SIMILAR of a rung). The rationale names the cue, the claim,
the similarity, and the mention of the next rung that did not count and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from evidence.settings import Settings
from evidence.vocabulary import City, Edition, Indicator
from frameworks import load_framework
from review.proposer.cues import Cues, Term, fold, load_cues
from review.proposer.evidence import Evidence, Passage
from review.proposer.model import CitationOut, OfflineProposalOut
from review.proposer.status import DocumentVoice, Judgement, judge, text_languages
from vectorstore.chunking import approx_tokens
from vectorstore.embeddings import get_embedder
from vectorstore.search import query_vector
from vectorstore.segment import sentences
from vectorstore.store import ChunkStore

RULES = 2  # bump when the rules below change: it is part of every offline proposal's input hash
SIMILAR = 0.85  # cosine similarity a passage needs to stand for a rung without any cue (uncovered languages)
TOPIC_RANK = 4  # a passage counts for an indicator that is among its TOPIC_RANK closest ladders of the edition
MIN_TOKENS = 4  # shorter fragments are headings or labels, not claims
MAX_CITATIONS = 3


@dataclass(frozen=True)
class Finding:
    """A sentence of a passage that mentions a rung: by a cue term, or by similarity alone."""

    level: int
    chunk_id: str
    sentence: str
    cue: str | None
    hedge: str | None
    similarity: float
    judgement: Judgement = field(default_factory=lambda: Judgement("achieved", ""))

    @property
    def counts(self) -> bool:
        return self.hedge is None and self.judgement.status == "achieved"

    @property
    def why_not(self) -> str:
        """Why the claim does not count (a hedge, or its status)."""
        return self.hedge or f"{self.judgement.status}: {self.judgement.reason}"


def _sentences(text: str, language: str | None, title: str | None = None) -> list[str]:
    """Claims: sentences of the text with wrapped lines joined (PDFs break lines mid-sentence, and a hedge
    on the next line must still count). Table rows, list items and lines ending in a figure stand alone
    (they carry no full stop); the page's title is dropped (it announces a topic, it reports nothing)."""
    blocks: list[str] = []
    current: list[str] = []
    for line in (line.strip() for line in text.split("\n")):
        if title and line and line in title:
            line = ""
        if not line or line.startswith(("|", "- ", "• ", "* ")):
            blocks += [" ".join(current), line]
            current = []
        elif _FIGURE_END.search(line):
            blocks.append(" ".join([*current, line]))
            current = []
        else:
            current.append(line)
    blocks.append(" ".join(current))
    out = []
    for block in filter(None, blocks):
        out += [block[s:e].strip() for s, e in sentences(block, language)]
    return [s for s in out if approx_tokens(s) >= MIN_TOKENS]


_FIGURE_END = re.compile(r"[\d%％]\s*$")
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*[%％]")


def _minor_share(sentence: str) -> str | None:
    """"At scale" is not met by a share under half: every percentage in the sentence below 50."""
    found = list(_PERCENT.finditer(sentence))
    shares = [float(m.group(1).replace(",", ".")) for m in found]
    return f"{found[0].group(0)} (under half)" if shares and max(shares) < 50 else None


def _first(terms: tuple[Term, ...], sentence: str) -> str | None:
    found = _find(terms, sentence)
    return found.group(0) if found else None


def _find(terms: tuple[Term, ...], sentence: str) -> re.Match | None:
    for term in terms:
        if m := term.find(sentence):
            return m
    return None


_NO_VOICE = DocumentVoice(None, 0, 0)
_RANK = {"achieved": 0, "under-way": 1, "planned": 2}


def _best_mention(terms: tuple[Term, ...], claim: str, passage: Passage, languages: list[str],
                  voice: DocumentVoice) -> tuple[str, Judgement] | None:
    """The claim's mention of a cue whose clause reads most like an achievement: one sentence may list
    a line opened this year beside another only started (the first mention is not always the one)."""
    best: tuple[str, Judgement] | None = None
    for term in terms:
        for m in term.pattern.finditer(fold(claim)):
            judgement = judge(claim, m.start(), passage.section, languages, voice)
            if best is None or _RANK[judgement.status] < _RANK[best[1].status]:
                best = (m.group(0), judgement)
            if judgement.status == "achieved":
                return best
    return best


def ladder_text(indicator: Indicator) -> str:
    return f"{indicator.name.en}: " + "; ".join(r.text.en for r in indicator.rungs)


def passage_vectors(settings: Settings, city: str, passages: list[Passage]) -> dict[str, np.ndarray]:
    """The passages' vectors as indexed for their city (no re-embedding); any the index lacks are embedded here."""
    embedder = get_embedder(settings.embedding_model)
    ids = [p.chunk_id for p in passages]
    vectors = ChunkStore.open(settings, embedder.name, embedder.dim).vectors(city, ids) if ids else {}
    missing = [p for p in passages if p.chunk_id not in vectors]
    if missing:
        vectors.update(zip((p.chunk_id for p in missing), embedder.passages([p.text for p in missing])))
    return vectors


@dataclass
class Similarity:
    rung: dict[tuple[str, int], float]  # (chunk id, level) -> similarity to "<indicator>: <rung>"
    topic_rank: dict[str, int]  # chunk id -> rank of this indicator among the edition's ladders (1 = closest)


def similarity(settings: Settings, edition: Edition, indicator: Indicator, city: str,
               passages: list[Passage]) -> Similarity:
    model = settings.embedding_model
    vectors = passage_vectors(settings, city, passages)
    rung = {(p.chunk_id, r.level): float(vectors[p.chunk_id] @ query_vector(model, f"{indicator.name.en}: {r.text.en}"))
            for r in indicator.rungs for p in passages}
    ladders = np.vstack([query_vector(model, ladder_text(i)) for i in edition.indicators])
    mine = [i.id for i in edition.indicators].index(indicator.id)
    ranks = {}
    for p in passages:
        scores = ladders @ vectors[p.chunk_id]
        ranks[p.chunk_id] = int((scores > scores[mine]).sum()) + 1
    return Similarity(rung, ranks)


def findings(evidence: Evidence, indicator: Indicator, city: City, sim: Similarity, cues: Cues) -> list[Finding]:
    found = []
    for p in evidence.passages:
        languages = text_languages(p.language, city)
        hedges = cues.hedges_for(languages)
        covered = bool(cues.languages(indicator.id) & set(languages) - {"en"})
        claims = _sentences(p.text, p.language, p.title)
        rank = sim.topic_rank[p.chunk_id]
        off_topic = f"the passage is closer to {rank - 1} other indicator ladders" if rank > TOPIC_RANK else None
        voice = evidence.voices.get(p.snapshot_id, _NO_VOICE)
        for rung in indicator.rungs:
            terms = cues.for_rung(indicator.id, rung.level, languages)
            score = sim.rung[(p.chunk_id, rung.level)]
            topic = cues.topic_for(indicator.id, rung.level, languages)
            for claim in claims:
                if (cue := _best_mention(terms, claim, p, languages, voice)) and (topic is None or _first(topic, claim)):
                    hedge = off_topic or _first(hedges, claim) or _minor_share(claim)
                    found.append(Finding(rung.level, p.chunk_id, claim, cue[0], hedge, score, cue[1]))
            if not covered and score >= SIMILAR and claims:
                hedge = off_topic or next((h for c in claims if (h := _first(hedges, c))), None)
                claim = max(claims, key=len)
                found.append(Finding(rung.level, p.chunk_id, claim, None, hedge, score,
                                     judge(claim, 0, p.section, languages, voice)))
    return found


def _describe(f: Finding) -> str:
    why = f"cue «{f.cue}»" if f.cue else f"similarity {f.similarity:.2f} ≥ {SIMILAR} (no cue terms in this language)"
    return (f"{why} in {f.chunk_id}: «{_short(f.sentence)}» ({f.judgement.status}: {f.judgement.reason}; "
            f"similarity to the rung {f.similarity:.2f})")


def _short(sentence: str, limit: int = 160) -> str:
    sentence = re.sub(r"\s+", " ", sentence)
    return sentence if len(sentence) <= limit else sentence[:limit - 1] + "…"


def _rationale(level: int, indicator: Indicator, best: dict[int, Finding], above: Finding | None,
               model: str, cues: Cues) -> str:
    nxt = indicator.rung(level + 1)
    reached = indicator.rung(level)
    lines = [f"Level {level} ({reached.text.en}): {_describe(best[level])}." if level and reached else
             f"Level 0: no hedge-free sentence of the evidence has a cue of rung 1 ({indicator.rungs[0].text.en})."]
    if nxt:
        lines.append(f"Not rung {above.level}: {_describe(above)} does not count: «{above.why_not}»." if above
                     else f"No sentence mentions rung {nxt.level} ({nxt.text.en}) or above.")
    lines.append(f"Offline proposer ({cues.id}, {model}): cue terms and embedding similarity, no language model.")
    return " ".join(lines)


def facts(level: int, indicator: Indicator, best: dict[int, Finding], above: Finding | None, model: str,
          cues: Cues) -> dict:
    """What the rationale says, as data: the review app words it in the reviewer's language, citing the
    passages by their place on the page, not by chunk codes."""
    def finding(f: Finding) -> dict:
        return {"chunk": f.chunk_id, "cue": f.cue, "similarity": round(f.similarity, 2),
                "sentence": _short(f.sentence), "status": f.judgement.status}

    nxt = indicator.rung(level + 1)
    return {"v": 1, "level": level, "reached": finding(best[level]) if level else None,
            "above": {**finding(above), "level": above.level, "why_not": above.why_not} if above else None,
            "next": nxt.level if nxt else None, "cues": cues.id, "model": model}


def propose_offline(settings: Settings, evidence: Evidence, indicator: Indicator, city: City,
                    cues: Cues | None = None) -> OfflineProposalOut:
    cues = cues or load_cues()
    sim = similarity(settings, load_framework(evidence.edition), indicator, evidence.city, evidence.passages)
    found = findings(evidence, indicator, city, sim, cues)
    counted = [f for f in found if f.counts]
    level = max((f.level for f in counted), default=0)
    best = {lvl: max((f for f in counted if f.level == lvl), key=lambda f: (f.similarity, -len(f.sentence)))
            for lvl in {f.level for f in counted}}
    hedged = sorted((f for f in found if f.level > level and not f.counts), key=lambda f: (f.level, -f.similarity))
    above = hedged[0] if hedged else None
    nxt = indicator.rung(level + 1)
    borderline = bool(above and nxt and above.level == nxt.level)  # the next rung is mentioned: look closely
    confidence = 0.3 if not level else min(0.8, 0.45 + 0.1 * len({f.chunk_id for f in counted if f.level == level}))
    missing = "" if not nxt else (f"Evidence that rung {nxt.level} ({nxt.text.en}) is achieved in {city.name.en}"
                                  + (f"; the evidence mentions it only as: «{_short(above.sentence)}»"
                                     if borderline and above else ""))
    cited = [best[lvl] for lvl in sorted(best, reverse=True)][:MAX_CITATIONS]
    rationale = _rationale(level, indicator, best, above, settings.embedding_model, cues)
    return OfflineProposalOut(level=level, rationale=rationale,
                              rationale_facts=facts(level, indicator, best, above, settings.embedding_model, cues),
                              confidence=round(max(0.2, confidence - 0.15) if borderline else confidence, 2),
                              citations=[CitationOut(chunk_id=f.chunk_id, quote=f.sentence, status=f.judgement.status)
                                         for f in cited],
                              status_reasons=[f.judgement.reason for f in cited],
                              missing_for_next_rung=missing)
