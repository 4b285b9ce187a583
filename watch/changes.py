"""Classify a changed snapshot against its predecessor, and find the indicators a substantive change bears on.

A snapshot's text is a list of paragraphs (lines). difflib pairs the two versions; a replaced line that is
the same once digits are masked (a "Stand:" date, a visitor counter) is cosmetic. An added line the city's
pages already had (navigation, a footer, an old headline now also listed on the home page) is not news, nor
is a removed line the city's pages still show. What is left, paragraphs added or removed, is substantive.

Indicators are found through the index: each changed paragraph is embedded by the index's model and
compared with the proposer's queries for every indicator and rung; the indicators most of the change's
paragraphs point to are candidates, kept when the changed text is among the city's search hits for that
indicator's queries (the evidence the proposer gathers), so that proposing again can see the change.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np

from evidence.settings import Settings
from evidence.vocabulary import City, Indicator
from review.proposer.evidence import queries_for
from vectorstore.embeddings import get_embedder
from vectorstore.search import Ask, Filters, query_vector, search_many
from vectorstore.segment import words

DIGITS = re.compile(r"\d+(?:[.,:/\-]\d+)*")
MIN_WORDS = 4          # a shorter line is a menu entry or a label, not a policy paragraph (words as ICU cuts them)
MIN_SIMILARITY = 0.25  # below this a paragraph is about none of the indicators (measured on the sample)
PER_QUERY = 8          # as the proposer: the changed text must be among this many hits of a query in the city


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def masked(line: str) -> str:
    """The line with its numbers masked: dates and counters are what a cosmetic edit changes."""
    return DIGITS.sub("#", re.sub(r"\s+", " ", line)).strip()


def key(line: str) -> str:
    """A line as compared across pages: numbers masked, punctuation and list marks ignored."""
    return re.sub(r"[\W_]+", " ", masked(line)).strip().lower()


def known_lines(texts: list[str]) -> set[str]:
    return {key(line) for text in texts for line in paragraphs(text)}


@dataclass
class Classified:
    kind: str  # cosmetic | substantive
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    cosmetic: list[list[str]] = field(default_factory=list)


def classify(old: str | None, new: str, before: AbstractSet[str] = frozenset(),
             after: AbstractSet[str] = frozenset()) -> Classified:
    """Cosmetic or substantive (`old` None: a new document). `before` and `after` are the line keys of the
    city's other pages before and after the pass: an added line in `before`, or a removed one in `after`, moved."""
    old_lines, new_lines = paragraphs(old or ""), paragraphs(new)
    added, removed, cosmetic = [], [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds, news = old_lines[i1:i2], new_lines[j1:j2]
        if tag == "replace":
            same = [(o, n) for o, n in zip(olds, news) if masked(o) == masked(n)]
            cosmetic += [[o, n] for o, n in same]
            olds = [o for o in olds if all(o != pair[0] for pair in same)]
            news = [n for n in news if all(n != pair[1] for pair in same)]
        removed += olds
        added += news
    added = [line for line in added if _substantive(line, before)]
    removed = [line for line in removed if _substantive(line, after)]
    return Classified("substantive" if added or removed else "cosmetic", added, removed, cosmetic)


def _substantive(line: str, elsewhere: AbstractSet[str]) -> bool:
    return word_count(line) >= MIN_WORDS and key(line) not in elsewhere


def word_count(line: str) -> int:
    """Words by script, as the lexical index cuts them: Chinese, Japanese and Thai are written without spaces,
    so `split()` saw a whole unspaced paragraph as one word (and no change in those languages was ever news)."""
    return len(words(line, None))


def spans(text: str, lines: list[str]) -> list[tuple[int, int]]:
    """Where each changed paragraph sits in the snapshot's text (character offsets)."""
    out, cursor = [], 0
    for line in lines:
        at = text.find(line, cursor)
        if at < 0:
            at = text.find(line)
        if at >= 0:
            out.append((at, at + len(line)))
            cursor = at + len(line)
    return out


@dataclass(frozen=True)
class ChangedText:
    """The changed paragraphs of one snapshot, as offsets: what a search hit must overlap."""

    snapshot_id: int
    spans: tuple[tuple[int, int], ...]

    def touched_by(self, hit) -> bool:
        return hit.snapshot_id == self.snapshot_id and any(hit.start < end and start < hit.end
                                                           for start, end in self.spans)


def candidates(settings: Settings, city: City, indicators: list[Indicator], lines: list[str]) -> list[Indicator]:
    """The indicators most of the changed paragraphs are about: each paragraph votes for the indicator whose
    indicator or rung query it is most similar to (if similar enough); those with at least half the top's votes."""
    if not lines:
        return []
    embedder = get_embedder(settings.embedding_model)
    vectors = embedder.passages(lines)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = np.stack([np.max(vectors @ np.stack([query_vector(embedder.name, q.text)
                                                   for q in queries_for(ind, city) if q.mode == "hybrid"]).T, axis=1)
                       for ind in indicators], axis=1)  # paragraphs x indicators
    votes = Counter(int(best) for best, value in zip(scores.argmax(axis=1), scores.max(axis=1))
                    if value >= MIN_SIMILARITY)
    if not votes:
        return []
    top = max(votes.values())
    return [indicators[i] for i, n in sorted(votes.items()) if 2 * n >= top]


def in_evidence(settings: Settings, edition: str, city: City, indicator: Indicator,
                changed: list[ChangedText]) -> bool:
    """Is a changed paragraph among the city's hits for one of this indicator's (or its rungs') queries?"""
    filters = Filters(city=city.id, edition=edition, history=True)  # removed text lives in superseded snapshots
    asks = [Ask(q.text, PER_QUERY, q.mode) for q in queries_for(indicator, city)]
    return any(c.touched_by(hit) for hits in search_many(settings, asks, filters) for hit in hits for c in changed)
