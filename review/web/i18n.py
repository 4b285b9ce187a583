"""The interface's message catalogue (messages.yaml: every key in English, Chinese and Arabic) and the
reviewer's language: the `lang` cookie set by the switch, else the browser's first Accept-Language the
interface has. Arabic pages are laid out right to left (`DIRECTION`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from evidence.datafile import read_yaml
from evidence.errors import DataError

CATALOGUE = Path(__file__).resolve().parent / "messages.yaml"
LANGUAGES = ("en", "zh", "ar")
NAMES = {"en": "English", "zh": "中文", "ar": "العربية"}  # each language in its own words, for the switch
DIRECTION = {"ar": "rtl"}  # the rest read left to right
HTML_LANG = {"zh": "zh-CN"}


@cache
def catalogue(path: Path = CATALOGUE) -> dict[str, dict[str, str]]:
    """Load the catalogue; a key without both languages is an error naming it."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataError(path, "", "expected a mapping of message keys")
    for key, texts in data.items():
        missing = [lang for lang in LANGUAGES if not isinstance(texts, dict) or not texts.get(lang)]
        if missing:
            raise DataError(path, str(key), f"missing text in {', '.join(missing)}")
    return data


def translator(lang: str):
    """t(key, **values): the message in `lang`, with {placeholders} filled."""
    messages = catalogue()

    def t(key: str, **values) -> str:
        if key not in messages:
            raise KeyError(f"message {key!r} is not in {CATALOGUE.name}")
        text = messages[key][lang]
        return text.format(**values) if values else text

    return t


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):  # in the browser's order (q-values are written in order)
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
