"""The offline proposer's cue terms (cues.yaml): loading, validation and matching in many scripts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError

CUES_FILE = Path(__file__).resolve().parent / "cues.yaml"
_UNSPACED = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\u0E00-\u0E7F]")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_CLITIC = r"(?:وال|بال|فال|كال|لل|ال|و|ف|ب|ل|ك)?"
# a word boundary among spaced scripts only: "5G" is a word in "建成5G基站" but not in "15G"
_WORDCHAR = r"[0-9A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u0600-\u06FF]"


class IndicatorCues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rungs: dict[int, dict[str, list[str]]]  # level -> language -> terms
    topic: dict[str, list[str]] = {}  # language -> terms naming the indicator's subject
    scoped: list[int] = []  # rungs whose cues count only next to a topic term


class CueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    hedges: dict[str, list[str]]
    indicators: dict[str, IndicatorCues]


_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640]")  # Arabic vowel marks and tatweel: optional in writing


def fold(text: str) -> str:
    """Text as terms are matched against: without Arabic vowel marks (عن بُعد = عن بعد)."""
    return _MARKS.sub("", text)


@dataclass(frozen=True)
class Term:
    """A cue or hedge term compiled for matching; `text` is what a rationale quotes."""

    text: str
    pattern: re.Pattern

    def find(self, sentence: str) -> re.Match | None:
        return self.pattern.search(fold(sentence))


_ACRONYM = re.compile(r"^(?=(?:.*[A-ZА-Я]){2})[A-ZА-Я0-9&./-]+$")  # ITS, ЦОД, AI, 5G-A: capitals and digits only


def compile_term(term: str) -> Term:
    """Whole words in spaced scripts (`*` continues a word), anywhere in CJK, with clitics in Arabic.
    Case is ignored, except in an acronym of two or more capitals ("ITS" is not "its")."""
    parts = [re.escape(p) for p in fold(term).split("*")]
    body = r"\w*".join(parts)
    flags = 0 if _ACRONYM.match(term) else re.IGNORECASE
    if _UNSPACED.search(term):
        return Term(term, re.compile(body, flags))
    left = f"(?<!{_WORDCHAR})" + (_CLITIC if _ARABIC.search(term) else "")
    right = "" if term.endswith("*") or not term[-1:].isalnum() else f"(?!{_WORDCHAR})"
    return Term(term, re.compile(left + body + right, flags))


@dataclass(frozen=True)
class Cues:
    version: int
    digest: str  # of the file's text: an edit changes every offline input hash
    hedges: dict[str, tuple[Term, ...]]
    rungs: dict[str, dict[int, dict[str, tuple[Term, ...]]]]  # indicator -> level -> language -> terms
    topics: dict[str, dict[str, tuple[Term, ...]]]  # indicator -> language -> terms
    scoped: dict[str, frozenset[int]]

    @property
    def id(self) -> str:
        return f"cues.v{self.version}"

    def for_rung(self, indicator: str, level: int, languages: list[str]) -> tuple[Term, ...]:
        """Cue terms of a rung in these languages, plus the language-neutral and English ones."""
        by_language = self.rungs.get(indicator, {}).get(level, {})
        wanted = dict.fromkeys(["any", *languages, "en"])
        return tuple(t for lang in wanted for t in by_language.get(lang, ()))

    def hedges_for(self, languages: list[str]) -> tuple[Term, ...]:
        return _in(self.hedges, languages)

    def topic_for(self, indicator: str, level: int, languages: list[str]) -> tuple[Term, ...] | None:
        """The topic terms a sentence needs for this rung's cues to count; None when the rung is not scoped."""
        return _in(self.topics.get(indicator, {}), languages) if level in self.scoped.get(indicator, ()) else None

    def languages(self, indicator: str) -> set[str]:
        """The languages this indicator has cue terms in (besides `any`)."""
        return {lang for terms in self.rungs.get(indicator, {}).values() for lang in terms} - {"any"}


def _in(by_language: dict[str, tuple[Term, ...]], languages: list[str]) -> tuple[Term, ...]:
    return tuple(t for lang in dict.fromkeys([*languages, "en"]) for t in by_language.get(lang, ()))


def _compiled(by_language: dict[str, list[str]]) -> dict[str, tuple[Term, ...]]:
    return {lang: tuple(map(compile_term, terms)) for lang, terms in by_language.items()}


@cache
def load_cues(path: Path = CUES_FILE) -> Cues:
    data = validate(CueFile, read_yaml(path), path)
    for indicator, entry in data.indicators.items():
        for level in [*entry.rungs, *entry.scoped]:
            if level not in entry.rungs or level < 1:
                raise DataError(path, f"indicators.{indicator}", f"rung {level} is not among its rungs {sorted(entry.rungs)}")
        if entry.scoped and not entry.topic:
            raise DataError(path, f"indicators.{indicator}.topic", "scoped rungs need topic terms")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Cues(version=data.version, digest=digest, hedges=_compiled(data.hedges),
                rungs={ind: {level: _compiled(by_lang) for level, by_lang in e.rungs.items()}
                       for ind, e in data.indicators.items()},
                topics={ind: _compiled(e.topic) for ind, e in data.indicators.items()},
                scoped={ind: frozenset(e.scoped) for ind, e in data.indicators.items()})
