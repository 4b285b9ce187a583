"""A document's outline: its headings, and for every offset the path of headings it sits under.

Long government documents are organised in numbered parts (a work report's "一、2025年工作回顾" then
"三、2026年工作安排"; a strategy's "Pillar 1.", "3-2."; a page's "## Related Press Releases"). Which part a
sentence sits in says much about it (a review of the past year vs the tasks of this one), so chunks keep
their section and never straddle two. Headings are found by form alone, in any language: markdown
marks, numbering (Chinese, Arabic and Roman numerals, letters, "1-1.", "第三章", "Chapter 2"), and short
unnumbered title lines standing over a longer paragraph. The depth of a numbered heading comes from its
numbering style, in the order the styles first appear (the usual outline convention: 一、 over （一） over
1.), so no document needs a declared scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HEADING_CHARS = 90  # a numbered line longer than this is a numbered paragraph: its first sentence heads it
TITLE_MAX_WORDS = 10  # an unnumbered title line: at most this many words (or 2 × this many CJK characters)

_STYLES: list[tuple[str, re.Pattern]] = [
    ("cn-number", re.compile(r"[一二三四五六七八九十百]+[、．]")),
    ("cn-paren", re.compile(r"[（(][一二三四五六七八九十]+[）)]")),
    ("chapter", re.compile(r"第[一二三四五六七八九十百\d]+[章节篇部编]|"
                           r"(?i:(?:part|chapter|section|pillar|foundation|annex|appendix|chapitre|partie|titre|"
                           r"kapitel|teil|abschnitt|capítulo|capitulo|parte|sección|seção|глава|раздел|часть)"
                           r"\s+(?:\d+|[IVXLC]+)\b[.:]?)|(?:الفصل|الباب|المحور|القسم|الجزء)\s+\S+")),
    ("multi", re.compile(r"\d{1,2}(?:[.\-]\d{1,2})+\.?(?=\s|[^\d.\-]|$)")),
    ("number", re.compile(r"\d{1,2}(?:[.．、)]|\s*[-–—]\s)(?!\d)")),
    ("num-paren", re.compile(r"[（(]\d{1,2}[）)]")),
    ("roman", re.compile(r"(?=[IVXLC]{1,6}[.)]\s)[IVXLC]{1,6}[.)]")),
    ("letter", re.compile(r"(?:[A-H][.)]|\([a-h]\))(?=\s)")),
]
_MARKDOWN = re.compile(r"(#{1,6})\s+(.+)")
_PARAGRAPH_STYLES = {"cn-number", "cn-paren", "multi"}  # styles that also number whole paragraphs
_LIST_ITEM_END = re.compile(r"[;,，；、]\s*$|\s(?:and|or|et|ou|und|oder|y|e|и|или)\s*$", re.IGNORECASE)
_CONTENTS_LINE = re.compile(r"(?:\.{4,}|…{2,}|·{4,})\s*\d*\s*$")  # a table of contents: dot leaders, a page
_SENTENCE_END = re.compile(r"[.!?;:,。！？；：，،؛؟]\s*$")
_FIRST_SENTENCE = re.compile(r"^.+?(?:[。！？!?]|[.:](?=\s)|$)")
_CJK = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Heading:
    start: int  # offsets of the heading's line in the text
    end: int
    text: str
    depth: int  # 1 = outermost


@dataclass(frozen=True)
class Section:
    """A stretch of text under one path of headings (the outermost first); the part before the first
    heading has an empty path."""

    start: int
    end: int
    path: tuple[str, ...]


def _lines(text: str) -> list[tuple[int, int, str]]:
    out, at = [], 0
    for line in text.split("\n"):
        out.append((at, at + len(line), line))
        at += len(line) + 1
    return out


def _numbering(line: str) -> tuple[str, str] | None:
    """(style, the heading's text) when the line starts with a numbering mark followed by words."""
    if m := _MARKDOWN.match(line):
        return f"markdown-{len(m.group(1))}", m.group(2).strip()
    if _LIST_ITEM_END.search(line) or _CONTENTS_LINE.search(line):
        return None
    for style, pattern in _STYLES:
        m = pattern.match(line)
        if m and _LETTER.search(line[m.end():]):
            fits = len(line) <= MAX_HEADING_CHARS or style in _PARAGRAPH_STYLES
            return (style, line.strip()) if fits else None
    return None


def _size(line: str) -> int:
    cjk = len(_CJK.findall(line))
    return cjk // 2 + len(_CJK.sub(" ", line).split())


def _is_title(line: str, previous: str, following: str) -> bool:
    """A short unnumbered line, not ending like a sentence, after a finished one and over a longer
    paragraph (a fragment of a wrapped line or of a table column starts lower-case or follows an
    unfinished line)."""
    stripped = line.strip()
    if (not stripped or not _LETTER.search(stripped) or _CONTENTS_LINE.search(stripped) or stripped[0].islower()
            or stripped.startswith(("|", "- ", "* ", "• ", "!", "["))):
        return False
    if previous.strip() and not _SENTENCE_END.search(previous) and not _numbering(previous.strip()):
        return False
    return (_size(stripped) <= TITLE_MAX_WORDS and not _SENTENCE_END.search(stripped)
            and len(following.strip()) > 2 * len(stripped))


def _following(lines: list[tuple[int, int, str]]) -> list[str]:
    """For each line, the next line that is not blank, in one backward pass (a search from every line was
    quadratic in the number of lines)."""
    out, after = [""] * len(lines), ""
    for n in range(len(lines) - 1, -1, -1):
        out[n] = after
        if lines[n][2].strip():
            after = lines[n][2]
    return out


def outline(text: str) -> list[Heading]:
    lines = _lines(text)
    depth_of: dict[str, int] = {}
    headings: list[Heading] = []
    numbered_depth = 0
    following_of = _following(lines)
    for n, (start, end, line) in enumerate(lines):
        stripped = line.strip()
        following = following_of[n]
        previous = lines[n - 1][2] if n else ""
        found = _numbering(stripped)
        if found:
            style, title = found
            if style.startswith("markdown-"):
                depth = int(style.rsplit("-", 1)[1])
            else:
                depth = depth_of.setdefault(style, len(depth_of) + 1)
                numbered_depth = depth
            if len(title) > MAX_HEADING_CHARS:
                title = _FIRST_SENTENCE.match(title).group(0)[:MAX_HEADING_CHARS]  # type: ignore[union-attr]
            headings.append(Heading(start, end, title, depth))
        elif _is_title(stripped, previous, following):
            headings.append(Heading(start, end, stripped, numbered_depth + 1))
    return headings


def sections(text: str) -> list[Section]:
    """The text cut at every heading, each part with the path of headings it sits under."""
    out: list[Section] = []
    path: list[Heading] = []
    at = 0
    for heading in outline(text):
        if heading.start > at:
            out.append(Section(at, heading.start, tuple(h.text for h in path)))
        path = [h for h in path if h.depth < heading.depth] + [heading]
        at = heading.start
    if at < len(text) or not out:
        out.append(Section(at, len(text), tuple(h.text for h in path)))
    return out
