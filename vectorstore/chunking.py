"""Chunking a snapshot's text into passages: sentence-aligned, bounded in size, overlapping.

Size is measured in approximate tokens (a word in spaced scripts, a character in Chinese, Japanese and
Thai), so a Chinese chunk and an English chunk carry about the same amount of text for the embedder.
A chunk id is derived from the snapshot and its character offsets, so it is stable across re-indexing
and a citation can be highlighted in its page. Chunks never straddle two sections of the document's
outline (`sections.py`), and each carries the path of headings it sits under.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from itertools import islice

from vectorstore.sections import sections
from vectorstore.segment import sentences

MAX_TOKENS = 120
OVERLAP_TOKENS = 25
_UNSPACED = re.compile(r"[\u0E00-\u0E7F\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uAC00-\uD7AF]")
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(_UNSPACED.pattern + r"|(?:(?!" + _UNSPACED.pattern + r")\w)+")  # what approx_tokens counts
_SPACE = re.compile(r"\s+")


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
    """A sentence longer than the budget (tables, lists without stops) is cut at whitespace or by length.

    Each piece ends at the last whitespace before its (max_tokens + 1)-th token, or after max_tokens characters
    when there is none (CJK). One pass over the tokens and the whitespace, holding only the next piece's tokens:
    linear in time and bounded in memory (re-counting the rest of the sentence for each piece made a 1 MB line
    take minutes)."""
    tokens = _TOKEN.finditer(text, start, end)
    window = deque(list(m.span()) for m in islice(tokens, max_tokens + 1))  # the piece's tokens and one more
    spaces = _SPACE.finditer(text, start, end)
    space = next(spaces, None)
    pieces, piece_start = [], start
    while len(window) > max_tokens:
        limit = window[max_tokens][0]  # where the first token past the budget starts
        cut = None
        while space is not None and space.start() < limit:
            if space.start() >= piece_start:
                cut = space.end()
            space = next(spaces, None)
        if cut is None:  # no whitespace (CJK): cut by characters
            cut = piece_start + max(1, max_tokens)
        pieces.append((piece_start, cut))
        piece_start = cut
        while window and window[0][1] <= cut:
            window.popleft()
        if window and window[0][0] < cut:  # a word cut in two: its rest counts as a token
            window[0][0] = cut
        window.extend(list(m.span()) for m in islice(tokens, max_tokens + 1 - len(window)))
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
