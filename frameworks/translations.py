"""Ladders in every language of an edition: drafted translations beside the published framework.

A framework file (`<edition>.yaml`) holds the published English and Chinese. Each
`translations/<edition>.<lang>.yaml` holds every text of that edition in one more language: the title,
the areas, the tiers, and each indicator's name, description and rungs, keyed by their ids, nothing
more and nothing less (a missing rung or an unknown id rejects the framework whole, naming the file and
the field). A drafted translation says `draft: true` until the author has checked it; reviewers are told.
"""

from __future__ import annotations

from pathlib import Path

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError, DataErrors

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
NonEmpty = Field(min_length=1)


class IndicatorText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = NonEmpty
    description: str | None = None
    rungs: dict[int, str]


class TranslationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edition: str
    language: str
    draft: bool
    source: str = NonEmpty
    title: str = NonEmpty
    areas: dict[str, str]
    tiers: dict[int, str]
    indicators: dict[str, IndicatorText]

    @field_validator("language")
    @classmethod
    def _iso_language(cls, code: str) -> str:
        if code in ("en", "zh") or pycountry.languages.get(alpha_2=code) is None:
            raise ValueError(f"{code!r} is not an ISO 639-1 code of a language to translate into")
        return code


def translation_files(edition: str, directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    return sorted(directory.glob(f"{edition}.*.yaml"))


def _same_keys(path: Path, field: str, wanted: set, got: set, errors: list[DataError]) -> None:
    for key in sorted(wanted - got, key=str):
        errors.append(DataError(path, f"{field}.{key}", "missing: every text of the edition must be translated"))
    for key in sorted(got - wanted, key=str):
        errors.append(DataError(path, f"{field}.{key}", "not in the edition's framework"))


def _check(path: Path, t: TranslationFile, data: dict) -> None:
    errors: list[DataError] = []
    if path.name != f"{t.edition}.{t.language}.yaml":
        errors.append(DataError(path, "language", f"the file name must be {t.edition}.{t.language}.yaml"))
    _same_keys(path, "areas", {a["id"] for a in data["areas"]}, set(t.areas), errors)
    _same_keys(path, "tiers", {tier["id"] for tier in data["tiers"]}, set(t.tiers), errors)
    indicators = {i["id"]: i for i in data["indicators"]}
    _same_keys(path, "indicators", set(indicators), set(t.indicators), errors)
    for ind_id, text in t.indicators.items():
        source = indicators.get(ind_id)
        if source is None:
            continue
        _same_keys(path, f"indicators.{ind_id}.rungs", {r["level"] for r in source["rungs"]}, set(text.rungs), errors)
        if bool(source.get("description")) != bool(text.description):
            errors.append(DataError(path, f"indicators.{ind_id}.description",
                                    "translate the description exactly when the framework has one"))
    if errors:
        raise DataErrors(errors)


def with_translations(data: dict, edition: str, directory: Path = TRANSLATIONS_DIR) -> dict:
    """The framework's data with every translation merged into its texts (`other: {lang: text}`)."""
    drafts: dict[str, bool] = {}
    for path in translation_files(edition, directory):
        t = validate(TranslationFile, read_yaml(path), path)
        if t.edition != edition:
            raise DataError(path, "edition", f"{t.edition!r} is not {edition!r}")
        _check(path, t, data)
        lang = t.language
        _add(data["title"], lang, t.title)
        for area in data["areas"]:
            _add(area["name"], lang, t.areas[area["id"]])
        for tier in data["tiers"]:
            _add(tier["name"], lang, t.tiers[tier["id"]])
        for ind in data["indicators"]:
            text = t.indicators[ind["id"]]
            _add(ind["name"], lang, text.name)
            if text.description:
                _add(ind["description"], lang, text.description)
            for rung in ind["rungs"]:
                _add(rung["text"], lang, text.rungs[rung["level"]])
        drafts[lang] = t.draft
    return {**data, "translations": drafts}


def _add(text: dict, lang: str, value: str) -> None:
    if isinstance(text, dict):
        text.setdefault("other", {})[lang] = value
