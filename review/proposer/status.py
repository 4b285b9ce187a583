"""Evidence status: is a statement an achievement, work under way, or a plan?

Real reports mix what was done with what is intended, and only achievements count towards a level. A
statement's status is read, in this order, from:
1. the grammar of the clause that mentions the rung, then of the words around the mention (status.yaml:
   per language, markers of a present state, of intention, of ongoing work, of completion; a present
   state is read first (已经, 累计, "already", "to date"), then a plan outranks work under way, which
   outranks completion: "plans to complete" is a plan);
2. the section it sits in: a heading over a review of the past ("工作回顾", "Achievements") or over the
   tasks ahead ("2026年工作安排", "Next steps"), or a heading naming a year before or after the
   document's own (its own year alone says nothing: it heads the title too). Under a heading of tasks
   ahead, work "under way" (加快建设, "continue to build") is a task and completion words ("实现…") are
   targets: both read as planned, unless the clause states a present state;
3. a year later than the document's own in the sentence ("by 2030"): a target;
4. otherwise the document's prevailing voice: a document whose marked sentences are mostly plans (a
   strategy) makes an unmarked sentence a plan; otherwise it is taken as reported fact.
Every judgement carries its reason, shown to reviewers beside the quote.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evidence.datafile import read_yaml, validate
from evidence.vocabulary import City
from review.proposer.cues import Term, compile_term
from vectorstore.segment import sentences

Status = Literal["achieved", "under-way", "planned"]
STATUSES: tuple[Status, ...] = ("achieved", "under-way", "planned")
STATUS_FILE = Path(__file__).resolve().parent / "status.yaml"
HEADER_CHARS = 400  # where a document states its own date (title block, dateline)
PLANS_DOMINATE = 2  # a document states mostly plans when its plans outnumber its achievements this many times
WINDOW_WORDS = 12  # the words either side of a mention that its grammar is read from, when its clause has none
WINDOW_CHARS = 24  # the same for scripts without spaces
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_CLAUSE = re.compile(r"[；;，,:：]|\s[—–-]\s")
_UNSPACED = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\u0E00-\u0E7F]")


class LanguageMarkers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned: list[str] = []
    under_way: list[str] = []
    achieved: list[str] = []
    present: list[str] = Field([], description="the state holds now, even under a heading of tasks ahead")
    past_sections: list[str] = []
    future_sections: list[str] = []


class StatusFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    languages: dict[str, LanguageMarkers]


@dataclass(frozen=True)
class Markers:
    planned: tuple[Term, ...]
    under_way: tuple[Term, ...]
    achieved: tuple[Term, ...]
    present: tuple[Term, ...]
    past_sections: tuple[Term, ...]
    future_sections: tuple[Term, ...]


@dataclass(frozen=True)
class Vocabulary:
    version: int
    digest: str
    languages: dict[str, Markers]
    _joined: dict[tuple[str, ...], Markers] = field(default_factory=dict, compare=False, repr=False)

    def markers(self, languages: list[str]) -> Markers:
        """The markers of these languages (and English, the language of many a bilingual page) together;
        joined once per set of languages (judged for every cue mention of every passage)."""
        key = tuple(dict.fromkeys([*languages, "en"]))
        if key not in self._joined:
            chosen = [self.languages[lang] for lang in key if lang in self.languages]
            self._joined[key] = Markers(*(tuple(t for m in chosen for t in getattr(m, name))
                                          for name in Markers.__dataclass_fields__))
        return self._joined[key]


@cache
def load_vocabulary(path: Path = STATUS_FILE) -> Vocabulary:
    data = validate(StatusFile, read_yaml(path), path)
    languages = {lang: Markers(*(tuple(compile_term(t) for t in getattr(m, name))
                                 for name in Markers.__dataclass_fields__))
                 for lang, m in data.languages.items()}
    return Vocabulary(data.version, hashlib.sha256(path.read_bytes()).hexdigest(), languages)


@dataclass(frozen=True)
class Judgement:
    status: Status
    reason: str


@dataclass(frozen=True)
class DocumentVoice:
    """What a whole document says about its statements' time: its own year and its prevailing voice."""

    year: int | None
    planned: int  # sentences marked as plans
    achieved: int  # sentences marked as achievements

    @property
    def mostly_plans(self) -> bool:
        return self.planned > PLANS_DOMINATE * self.achieved


def text_languages(language: str | None, city: City) -> list[str]:
    """The languages a text's words are read in: its own when it is known (a French cue such as
    "train*" would otherwise fire inside an English "Training" on a bilingual city's page), else the city's."""
    return [language] if language and language != "und" else list(city.languages)


def _first(terms: tuple[Term, ...], text: str) -> str | None:
    for term in terms:
        if m := term.find(text):
            return m.group(0)
    return None


def document_year(text: str, published: int | None, fetched: int | None) -> int | None:
    """The document's own year: its publication date, else the first year its title block names."""
    if published:
        return published
    m = _YEAR.search(text[:HEADER_CHARS])
    return int(m.group(1)) if m else fetched


def document_voice(text: str, language: str | None, year: int | None, languages: list[str]) -> DocumentVoice:
    markers = load_vocabulary().markers(languages)
    planned = achieved = 0
    for s, e in sentences(text, language):
        found = _grammar(text[s:e], markers)
        planned += found is not None and found[0] == "planned"
        achieved += found is not None and found[0] == "achieved"
    return DocumentVoice(year, planned, achieved)


def _grammar(text: str, markers: Markers) -> tuple[Status, str] | None:
    """The clause's status by its markers: a present state first (已将…纳入 is done, though 将 alone marks a
    plan), then a plan over work under way over completion ("plans to complete" is a plan)."""
    for status, terms in (("achieved", markers.present), ("planned", markers.planned),
                          ("under-way", markers.under_way), ("achieved", markers.achieved)):
        if term := _first(terms, text):
            return status, term  # type: ignore[return-value]
    return None


def section_role(path: tuple[str, ...], markers: Markers, year: int | None) -> tuple[str, str] | None:
    """("past" | "future", the heading that says so): the innermost heading that says either."""
    for heading in reversed(path):
        if _first(markers.future_sections, heading):
            return "future", heading
        if _first(markers.past_sections, heading):
            return "past", heading
        years = [int(y) for y in _YEAR.findall(heading)]
        if years and year and max(years) != year:  # the document's own year heads its title as well as its tasks
            return ("past", heading) if max(years) < year else ("future", heading)
    return None


def clause_at(sentence: str, offset: int) -> str:
    """The clause of the sentence around `offset` (clauses end at commas, semicolons, colons, dashes)."""
    starts = [0] + [m.end() for m in _CLAUSE.finditer(sentence)]
    ends = [m.start() for m in _CLAUSE.finditer(sentence)] + [len(sentence)]
    for s, e in zip(starts, ends):
        if s <= offset <= e:
            return sentence[s:e]
    return sentence


def window_at(sentence: str, offset: int) -> str:
    """The words either side of `offset`: a long run of text without stops (a PDF's list, a table row
    joined to the next) holds several statements, and a marker far from the mention is not its own."""
    if _UNSPACED.search(sentence):
        return sentence[max(0, offset - WINDOW_CHARS):offset + WINDOW_CHARS]
    before, after = sentence[:offset].split(), sentence[offset:].split()
    if len(before) + len(after) <= 2 * WINDOW_WORDS:
        return sentence  # a sentence this short is one statement
    return " ".join(before[-WINDOW_WORDS:] + after[:WINDOW_WORDS + 1])


def judge(sentence: str, offset: int, section: tuple[str, ...], languages: list[str],
          voice: DocumentVoice) -> Judgement:
    """The status of what `sentence` says at `offset` (where it mentions the rung)."""
    markers = load_vocabulary().markers(languages)
    role = section_role(section, markers, voice.year)
    clause = clause_at(sentence, offset)
    found = _grammar(clause, markers) or _grammar(window_at(sentence, offset), markers)
    if found and role and role[0] == "future" and found[0] != "planned":
        if present := _first(markers.present, clause):
            return Judgement("achieved", f"«{present}» states the present, under «{_short(role[1])}»")
        return Judgement("planned", f"«{found[1]}» under «{_short(role[1])}», a heading of tasks ahead")
    if found:
        return Judgement(found[0], f"«{found[1]}» marks {_WORDS[found[0]]}")
    if role:
        return Judgement("achieved" if role[0] == "past" else "planned",
                         f"under «{_short(role[1])}», a heading of {'the past' if role[0] == 'past' else 'tasks ahead'}")
    later = [int(y) for y in _YEAR.findall(sentence) if voice.year and int(y) > voice.year]
    if later:
        return Judgement("planned", f"names {max(later)}, after the document's year {voice.year}")
    if voice.mostly_plans:
        return Judgement("planned", f"unmarked, in a document that mostly states plans "
                                    f"({voice.planned} sentences of plans, {voice.achieved} of achievements)")
    return Judgement("achieved", "unmarked statement of fact")


_WORDS = {"achieved": "completion or a present state", "under-way": "work under way", "planned": "a plan or target"}


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
