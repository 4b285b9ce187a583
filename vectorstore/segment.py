"""Language-aware segmentation with ICU: sentences for chunking, words for the lexical index.

ICU's break iterators know the scripts that have no spaces (Chinese, Japanese, Thai) and the sentence
marks of each (。！？ ؟ …). They report offsets in UTF-16 code units; we convert to Python indices so
offsets stay usable for highlighting a citation in its page.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from icu4py.breakers import SentenceBreaker, WordBreaker
from icu4py.locale import Locale


@lru_cache(maxsize=64)
def _locale(language: str | None) -> Locale:
    return Locale(language or "en")


def _utf16_to_index(text: str) -> list[int] | None:
    """Map UTF-16 offsets to str indices; None when the text has no astral characters (identity)."""
    if all(ord(c) <= 0xFFFF for c in text):
        return None
    mapping = []
    for i, c in enumerate(text):
        mapping.append(i)
        if ord(c) > 0xFFFF:
            mapping.append(i)
    mapping.append(len(text))
    return mapping


def _spans(breaker, text: str) -> Iterator[tuple[int, int]]:
    mapping = _utf16_to_index(text)
    for start, end in breaker.segments():
        yield (start, end) if mapping is None else (mapping[start], mapping[end])


def sentences(text: str, language: str | None) -> list[tuple[int, int]]:
    """Sentence spans (start, end) covering the text."""
    if not text:
        return []
    return list(_spans(SentenceBreaker(text, _locale(language)), text))


def word_spans(text: str, language: str | None) -> list[tuple[int, int]]:
    """Spans of words (no spaces or punctuation): dictionary-based for CJK and Thai."""
    if not text:
        return []
    return [(s, e) for s, e in _spans(WordBreaker(text, _locale(language)), text)
            if any(ch.isalnum() for ch in text[s:e])]


def words(text: str, language: str | None) -> list[str]:
    return [text[s:e] for s, e in word_spans(text, language)]
