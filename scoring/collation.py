"""Alphabetical order of city names, as the reports list cities within a tier.

Chinese names sort by their pinyin (pypinyin resolves polyphones such as 重庆 chóngqìng and
厦门 xiàmén from its phrase dictionary). The reports compare the toneless pinyin of the whole name
letter by letter (厦门 xiamen < 香港 xianggang < 西雅图 xiyatu in the G20 2023 tiers), so that is the
key here; tones only break ties. Other languages use the Unicode Collation Algorithm (pyuca, the
DUCET order, not tailored per language). PyICU would give per-locale tailoring but publishes no
wheels (source builds only), so it is not used.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from pyuca import Collator

SortKey = Callable[[str], tuple]


@cache
def _uca() -> Collator:
    return Collator()


def pinyin_key(name: str) -> tuple:
    """Toneless pinyin letters of the whole name first, then the tones, then the characters."""
    from pypinyin import Style, lazy_pinyin  # its phrase dictionary takes a moment to load

    letters = "".join(lazy_pinyin(name, errors="default")).lower()
    tones = "".join(lazy_pinyin(name, style=Style.TONE3, neutral_tone_with_five=True, errors="default"))
    return (letters, tones, name)


def uca_key(name: str) -> tuple:
    return (_uca().sort_key(name), name)


def sort_key(lang: str) -> SortKey:
    """The key that lists names alphabetically the way readers of `lang` expect."""
    return pinyin_key if lang == "zh" else uca_key


def name_in(city, lang: str) -> str:
    """A registry city's name in `lang`: zh, local (the city's own language) or English."""
    return {"zh": city.name.zh, "local": city.name.local}.get(lang, city.name.en)
