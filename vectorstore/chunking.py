"""Chunking a snapshot's text into passages: sentence-aligned, bounded in size, overlapping.

Size is measured in approximate tokens (a word in spaced scripts, a character in Chinese, Japanese and
Thai), so a Chinese chunk and an English chunk carry about the same amount of text for the embedder.
A chunk id is derived from the snapshot and its character offsets, so it is stable across re-indexing
and a citation can be highlighted in its page. Chunks never straddle two sections of the document's
outline (`sections.py`), and each carries the path of headings it sits under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vectorstore.sections import sections
from vectorstore.segment import sentences

MAX_TOKENS = 120
OVERLAP_TOKENS = 25
_UNSPACED = re.compile(r"[\u0E00-\u0E7F\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uAC00-\uD7AF]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class ChunkSpan:
    start: int
    end: int
    text: str
    section: tuple[str, ...] = ()  # the headings it sits under, the outermost first

    def chunk_id(self, snapshot_id: int) -> str:
        return f"s{snapshot_id}:{self.start}-{self.end}"


def approx_tokens(text: str) -> int:
    unspaced = len(_UNSPACED.findall(text))
    return unspaced + len(_WORD.findall(_UNSPACED.sub(" ", text)))


def _split_long(start: int, end: int, text: str, max_tokens: int) -> list[tuple[int, int]]:
    """A sentence longer than the budget (tables, lists without stops) is cut at whitespace or by length."""
    pieces, piece_start = [], start
    while approx_tokens(text[piece_start:end]) > max_tokens:
        cut = piece_start
        for m in re.finditer(r"\s+|$", text[piece_start:end]):
            if approx_tokens(text[piece_start:piece_start + m.start()]) > max_tokens:
                break
            cut = piece_start + m.end()
        if cut == piece_start:  # no whitespace (CJK): cut by characters
            cut = piece_start + max(1, max_tokens)
        pieces.append((piece_start, cut))
        piece_start = cut
    pieces.append((piece_start, end))
    return pieces


def chunk(text: str, language: str | None, max_tokens: int = MAX_TOKENS,
          overlap_tokens: int = OVERLAP_TOKENS) -> list[ChunkSpan]:
    """The text's passages, section by section (offsets stay those of the whole text)."""
    out: list[ChunkSpan] = []
    for section in sections(text):
        for p in _chunk_span(text, section.start, section.end, language, max_tokens, overlap_tokens):
            out.append(ChunkSpan(p.start, p.end, p.text, section.path))
    return out


def _chunk_span(text: str, begin: int, finish: int, language: str | None, max_tokens: int,
                overlap_tokens: int) -> list[ChunkSpan]:
    units: list[tuple[int, int]] = []
    for s, e in sentences(text[begin:finish], language):
        units.extend(_split_long(begin + s, begin + e, text, max_tokens))
    units = [(s, e) for s, e in units if text[s:e].strip()]
    passages: list[ChunkSpan] = []
    i = 0
    while i < len(units):
        j, size = i, 0
        while j < len(units) and (j == i or size + approx_tokens(text[units[j][0]:units[j][1]]) <= max_tokens):
            size += approx_tokens(text[units[j][0]:units[j][1]])
            j += 1
        passages.append(_passage(text, units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        # repeat trailing sentences until about `overlap_tokens` carry over (at least one short sentence)
        k, back = j, 0
        while k - 1 > i and back < overlap_tokens:
            size = approx_tokens(text[units[k - 1][0]:units[k - 1][1]])
            if size > max_tokens // 2:
                break
            k -= 1
            back += size
        i = k
    return passages


def _passage(text: str, start: int, end: int) -> ChunkSpan:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return ChunkSpan(start, end, text[start:end])
