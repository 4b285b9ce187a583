"""The lexical half of hybrid search: BM25 (bm25s) over ICU word tokens, normalised per script.

Tokens are lower-cased NFKC words; Arabic loses diacritics and letter variants; words of a language
with a Snowball stemmer are stemmed. Chinese, Japanese and Thai are split by ICU's dictionaries, so
`千兆光网` in a query meets `千兆光网` in a page. The index is rebuilt from the record after each
indexing run; each chunk's tokens are cached so only new chunks are tokenised again.

Readers (`serve`, a watch pass, a search) memory-map the index while an indexing run may be writing the
next one, so an index is never rewritten in place: each build goes to a folder of its own under
`versions/`, and the `current` link is switched to it by an atomic rename. A reader resolves the link once
and reads one whole version. Writers take the folder's lock (`writer_lock`) for the whole rebuild.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import bm25s.stopwords as stopword_lists
import numpy as np
import Stemmer
from filelock import FileLock

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
READER_GRACE = 60.0  # seconds a replaced index version is kept for the readers that resolved it just before
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


@dataclass
class LexicalIndex:
    """BM25 over chunks, with the chunk ids in index order so results map back to the record."""

    chunk_ids: list[str]
    retriever: bm25s.BM25 | None

    @classmethod
    def build(cls, chunk_ids: list[str], chunk_tokens: list[list[str]]) -> LexicalIndex:
        if not chunk_ids:
            return cls([], None)
        retriever = bm25s.BM25()
        retriever.index(chunk_tokens, show_progress=False)
        return cls(chunk_ids, retriever)

    def publish(self, directory: Path, fields: list[dict]) -> Path:
        """Write this index and its per-chunk filter fields as a new version, then make it the current one
        (an atomic rename of the `current` link). Versions older than READER_GRACE seconds are then removed,
        but the last: a reader that resolved one a moment ago still finds it. Returns the version."""
        with writer_lock(directory):
            version = directory / "versions" / uuid.uuid4().hex
            version.mkdir(parents=True)
            (version / "chunk_ids.json").write_text(json.dumps(self.chunk_ids), encoding="utf-8")
            (version / "fields.json").write_text(json.dumps(fields), encoding="utf-8")
            if self.retriever is not None:
                self.retriever.save(str(version / "bm25"))
            link = directory / f".current-{version.name}"
            link.symlink_to(Path("versions") / version.name)
            previous = current_version(directory)
            os.replace(link, directory / "current")
            for old in (directory / "versions").iterdir():
                if old not in (version, previous) and time.time() - old.stat().st_mtime > READER_GRACE:
                    shutil.rmtree(old, ignore_errors=True)
            return version

    @classmethod
    def load(cls, version: Path | None) -> LexicalIndex:
        """The index of one version (`current_version`); an empty one when none was built yet."""
        ids_file = version / "chunk_ids.json" if version else None
        if ids_file is None or not ids_file.exists():
            return cls([], None)
        chunk_ids = json.loads(ids_file.read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(ids_file.parent / "bm25"), mmap=True) if chunk_ids else None
        return cls(chunk_ids, retriever)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None,
               language: str | None = None) -> list[tuple[str, float, float]]:
        """Top-k (chunk id, BM25 score, coverage) among chunks where `allowed` is true.

        Coverage is the share of the query's terms the chunk contains: one shared term such as "5G" in a
        long query is weak evidence of a match, and fusion weighs the lexical vote by it.
        """
        query_tokens = tokens(query, language or query_language(query))
        if self.retriever is None or not query_tokens:
            return []
        vocab = self.retriever.vocab_dict
        known = sorted({t for t in query_tokens if t in vocab})
        if not known:
            return []
        k = min(k, len(self.chunk_ids))
        mask = None if allowed is None else allowed.astype(np.float32)
        ids, scores = self.retriever.retrieve([known], k=k, show_progress=False, weight_mask=mask)
        ids, scores = ids[0], scores[0]
        matched = sum((self.retriever.get_scores([t])[ids] > 0).astype(int) for t in known)
        coverage = matched / len(set(query_tokens))
        return [(self.chunk_ids[i], float(s), float(c)) for i, s, c in zip(ids, scores, coverage) if s > 0]


def current_version(directory: Path) -> Path | None:
    """The folder of the current index version, resolved once so that a reader reads one whole version."""
    link = directory / "current"
    return link.resolve() if link.exists() else None


@lru_cache(maxsize=16)
def writer_lock(directory: Path) -> FileLock:
    """The lock every writer of this lexical folder holds (one object per folder: it is re-entrant)."""
    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(directory / ".lock")


class TokenCache:
    """Tokens per chunk id in a JSON-lines file, so re-building the index tokenises only new chunks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tokens: dict[str, list[str]] = {}
        if path.exists():
            with path.open(encoding="utf-8") as f:
                for line in f:
                    chunk_id, toks = json.loads(line)
                    self._tokens[chunk_id] = toks
        self._new: dict[str, list[str]] = {}

    def get(self, chunk_id: str, text: str, language: str | None) -> list[str]:
        if chunk_id not in self._tokens:
            self._tokens[chunk_id] = self._new[chunk_id] = tokens(text, language)
        return self._tokens[chunk_id]

    def save(self) -> None:
        if not self._new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            for chunk_id, toks in self._new.items():
                f.write(json.dumps([chunk_id, toks], ensure_ascii=False) + "\n")
        self._new.clear()
