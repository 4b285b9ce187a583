"""The shared vocabulary: editions, areas, indicators, rungs, cities and their sources.

Defined once as pydantic models; every package speaks it. Validation here is what makes a broken
framework or registry file fail whole, with the field named.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from typing import Annotated, Literal

import pycountry
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A framework string: published in English and Chinese, and in the drafted translations of
    `frameworks/translations/` (`other`, by language)."""

    en: NonEmpty
    zh: NonEmpty
    other: dict[str, NonEmpty] = {}

    def get(self, lang: str) -> str:
        """The text in `lang`; English when it has no translation into it."""
        return self.zh if lang == "zh" else self.other.get(lang) or self.en

    def has(self, lang: str) -> bool:
        return lang in ("en", "zh") or lang in self.other


# --- frameworks -------------------------------------------------------------------------------

class Rung(Strict):
    level: int = Field(ge=1)
    text: Text
    note: str | None = None


class Indicator(Strict):
    id: Slug
    area: Slug
    name: Text
    description: Text | None = None
    draft: bool = False
    note: str | None = None
    rungs: list[Rung] = Field(min_length=1)

    @field_validator("rungs")
    @classmethod
    def _numbered_without_gaps(cls, rungs: list[Rung]) -> list[Rung]:
        levels = [r.level for r in rungs]
        if levels != list(range(1, len(rungs) + 1)):
            raise ValueError(f"rungs must be numbered 1..{len(rungs)} in order without gaps, got {levels}")
        return rungs

    @model_validator(mode="after")
    def _draft_has_provenance(self) -> Indicator:
        if self.draft and not (self.note or "").strip():
            raise ValueError("a draft ladder needs a note saying where its rungs come from")
        return self

    @property
    def top(self) -> int:
        """The highest level this ladder defines."""
        return len(self.rungs)

    def rung(self, level: int) -> Rung | None:
        return self.rungs[level - 1] if 1 <= level <= self.top else None


class Area(Strict):
    id: Slug
    name: Text


class Tier(Strict):
    """A tier holds the cities whose rank falls within the cumulative share `upto` (percent)."""

    id: int = Field(ge=1)
    upto: float = Field(gt=0, le=100)
    name: Text


class Panel(Strict):
    experts: int = Field(ge=1)
    groups: list[Slug] = Field(min_length=1)


class Edition(Strict):
    id: Slug
    title: Text
    published: NonEmpty
    report: str | None = None
    evidence_period: str | None = None
    note: str | None = None
    panel: Panel
    tiers: list[Tier] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    indicators: list[Indicator] = Field(min_length=1)
    cities: int | None = Field(None, ge=1)  # how many cities the published ranking covers, where the reports say
    translations: dict[str, bool] = {}  # language -> still a draft (frameworks/translations/)

    @property
    def languages(self) -> list[str]:
        """The languages its ladders can be read in: the published two, then the translations."""
        return ["en", "zh", *sorted(self.translations)]

    @field_validator("areas")
    @classmethod
    def _unique_areas(cls, areas: list[Area]) -> list[Area]:
        _require_unique([a.id for a in areas], "area")
        return areas

    @field_validator("indicators")
    @classmethod
    def _unique_indicators(cls, indicators: list[Indicator]) -> list[Indicator]:
        _require_unique([i.id for i in indicators], "indicator")
        return indicators

    @field_validator("tiers")
    @classmethod
    def _tiers_increase_to_100(cls, tiers: list[Tier]) -> list[Tier]:
        _require_unique([t.id for t in tiers], "tier")
        bounds = [t.upto for t in tiers]
        if any(b <= a for a, b in pairwise(bounds)):
            raise ValueError(f"tier boundaries must increase, got {bounds}")
        if bounds[-1] != 100:
            raise ValueError(f"the last tier must reach 100 %, got {bounds[-1]}")
        return tiers

    @model_validator(mode="after")
    def _indicators_in_known_areas(self) -> Edition:
        known = {a.id for a in self.areas}
        for n, ind in enumerate(self.indicators):
            if ind.area not in known:
                raise ValueError(f"indicators[{n}] ({ind.id}): unknown area {ind.area!r}; areas are {sorted(known)}")
        return self

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(f"edition {self.id} has no indicator {indicator_id!r}")

    def in_area(self, area_id: str) -> list[Indicator]:
        return [i for i in self.indicators if i.area == area_id]


def _require_unique(ids: list[str] | list[int], what: str) -> None:
    dupes = sorted((i for i, n in Counter(ids).items() if n > 1), key=str)
    if dupes:
        raise ValueError(f"duplicate {what} id(s): {', '.join(map(str, dupes))}")


# --- cities and their sources -----------------------------------------------------------------

class Names(Strict):
    en: NonEmpty
    zh: NonEmpty
    local: NonEmpty


SourceKind = Literal["portal", "seed", "list"]
LIST_DEPTH = 1  # a list page and the documents it links to


class Source(Strict):
    """Where a city's evidence is read from: an official portal (crawled to the run's depth), a list page
    (itself and the documents it links to) or a seed (that one document, no link followed)."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+")]
    kind: SourceKind = "portal"
    provenance: NonEmpty
    allowed_domains: list[str] = []
    allow_private: bool = False  # loopback / private addresses are refused unless a source says so
    schedule: str | None = None  # re-crawl interval such as "7d"; None = the default
    depth: int | None = Field(None, ge=0)  # links followed from the start page; None: the kind's default
    pages: int | None = Field(None, ge=1)  # page budget per run; None: the setting crawl.source_pages

    @model_validator(mode="after")
    def _seed_is_one_document(self) -> Source:
        if self.kind == "seed" and (self.depth or 0) > 0:
            raise ValueError(f"a seed is one document: depth must be 0, got {self.depth} (use kind list or portal)")
        if self.kind == "seed" and (self.pages or 1) > 1:
            raise ValueError(f"a seed is one document: pages must be 1, got {self.pages}")
        return self


class City(Strict):
    id: Slug
    name: Names
    country: str
    languages: list[str] = Field(min_length=1)
    editions: list[Slug] = Field(min_length=1)
    tables: dict[Slug, Slug | list[Slug]] = {}  # edition -> table(s) it is printed in; default "main"
    sources: list[Source] = []

    @field_validator("country")
    @classmethod
    def _iso_country(cls, code: str) -> str:
        if pycountry.countries.get(alpha_2=code.upper()) is None:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return code.upper()

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if pycountry.languages.get(alpha_2=code) is None:
                raise ValueError(f"{code!r} is not an ISO 639-1 language code")
        return codes

    @model_validator(mode="after")
    def _tables_of_own_editions(self) -> City:
        for edition in self.tables:
            if edition not in self.editions:
                raise ValueError(f"tables names edition {edition!r} that the city is not in")
        return self

    def tables_in(self, edition: str) -> list[str]:
        """The tables of an edition this city is printed in (Asia 2022 prints some cities in two)."""
        names = self.tables.get(edition, "main")
        return [names] if isinstance(names, str) else list(names)
