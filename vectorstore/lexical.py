"""The lexical half's terms: ICU word tokens, normalised per script (what `fulltext` indexes and queries).

Tokens are lower-cased NFKC words; Arabic loses diacritics and letter variants; words of a language
with a Snowball stemmer are stemmed. Chinese, Japanese and Thai are split by ICU's dictionaries, so
`千兆光网` in a query meets `千兆光网` in a page.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import bm25s.stopwords as stopword_lists
import Stemmer

from vectorstore.segment import word_spans, words

STEMMERS = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "pt": "portuguese",
            "it": "italian", "ru": "russian", "ar": "arabic", "tr": "turkish", "id": "indonesian",
            "nl": "dutch", "sv": "swedish", "fa": "persian", "hi": "hindi", "el": "greek", "ro": "romanian"}
STOPWORDS = {"en": stopword_lists.STOPWORDS_EN_PLUS, "zh": stopword_lists.STOPWORDS_CHINESE,
             "fr": stopword_lists.STOPWORDS_FRENCH, "de": stopword_lists.STOPWORDS_GERMAN,
             "es": stopword_lists.STOPWORDS_SPANISH, "pt": stopword_lists.STOPWORDS_PORTUGUESE,
             "it": stopword_lists.STOPWORDS_ITALIAN, "ru": stopword_lists.STOPWORDS_RUSSIAN,
             "ko": stopword_lists.STOPWORDS_KOREAN, "tr": stopword_lists.STOPWORDS_TURKISH,
             "nl": stopword_lists.STOPWORDS_DUTCH, "sv": stopword_lists.STOPWORDS_SWEDISH}
MAX_TERM = 100  # characters of a term kept (a term is a database key; nothing longer is a word)
_ARABIC_DIACRITICS = re.compile(r"[\u064B-\u065F\u0670\u0640]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})


@lru_cache(maxsize=32)
def _stemmer(language: str | None):
    name = STEMMERS.get((language or "").split("-")[0])
    return Stemmer.Stemmer(name) if name else None


@lru_cache(maxsize=32)
def _stopwords(language: str | None) -> frozenset[str]:
    return frozenset(normalise(w) for w in STOPWORDS.get((language or "").split("-")[0], ()))


def normalise(token: str) -> str:
    token = unicodedata.normalize("NFKC", token).lower()
    if any("\u0600" <= c <= "\u06FF" for c in token):
        token = _ARABIC_DIACRITICS.sub("", token).translate(_ARABIC_LETTERS)
    return token


def query_language(text: str) -> str | None:
    """A query's language for stemming, from its script: the user rarely says which language they typed."""
    if re.search(r"[\u0600-\u06FF]", text):
        return "ar"
    if re.search(r"[\u0400-\u04FF]", text):
        return "ru"
    if re.search(r"[A-Za-z]", text) and not re.search(r"[\u3040-\u30FF\u4E00-\u9FFF\uAC00-\uD7AF\u0E00-\u0E7F]", text):
        return "en"
    return None


def tokens(text: str, language: str | None) -> list[str]:
    """Index terms of a text: normalised words without stopwords, stemmed when the language has a stemmer."""
    stop = _stopwords(language)
    out = [t for t in (normalise(w) for w in words(text, language)) if t not in stop]
    stemmer = _stemmer(language)
    return stemmer.stemWords(out) if stemmer else out


def terms(text: str, language: str | None) -> list[str]:
    """`tokens` as the full-text index holds them: each a key free of spaces and control characters."""
    return [t[:MAX_TERM] for t in tokens(text, language) if t.isprintable() and not any(c.isspace() for c in t)]


def term_matches(query: str, text: str, language: str | None) -> list[tuple[int, int]]:
    """Spans of `text` whose word matches a query term, compared in the passage's language."""
    wanted = set(tokens(query, language)) | set(tokens(query, None))
    stemmer = _stemmer(language)
    spans = []
    for start, end in word_spans(text, language):
        word = normalise(text[start:end])
        if word in wanted or (stemmer and stemmer.stemWord(word) in wanted):
            spans.append((start, end))
    return spans
