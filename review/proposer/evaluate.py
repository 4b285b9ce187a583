"""How often the proposer is right: proposals against an answer key, beside a majority-level baseline.

Two key formats are read (one file, or a folder of them):
- per city: `edition,city,indicator,level,...` (the bundled sample's `gold.csv`);
- per document: `doc,city,indicator,level,start,end,confidence,reason` (`../shared/realdocs/key.csv`), where
  the level is what the document `doc` alone shows as achieved and `start:end` are the offsets of its best
  supporting sentence in `<docs>/<doc>.txt`. Such a key names no edition: `edition` says whose ladders it
  was labelled on. Each row is asked of that one document: the collected document whose URL's last path
  segment, without its extension, is `doc`.

The proposer runs on the key's questions first (reusing any proposal already made from the same inputs).
Reported overall, per document, per indicator and per language (the city's first language), on all rows
and, where the key gives confidences, on the high and medium ones: exact, within-one, quadratic and
linear weighted Cohen's kappa, the same for the baseline (always the key's most frequent level, ties to
the lower: the strongest constant guess), the share of quotes found verbatim, and:
- `supported`: of the nonzero proposals, the share whose level rests on an achieved, verbatim citation
  and which the key confirms (the key's level is at least the proposed one);
- `planned_only_shown`: nonzero proposals whose verified citations are all plans or work under way and
  that are not flagged (must be 0: such a level is lowered);
- `sentence_recall`: of the key's nonzero rows with a supporting sentence, the share whose sentence is
  among the passages gathered for the question (the evidence the proposer read).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from evidence.database import session_scope
from evidence.datafile import read_csv
from evidence.errors import DataError
from evidence.record import Chunk, Document, Proposal, Snapshot
from evidence.settings import Settings
from review.proposer.run import ProposalRun, Question, questions

CITY_KEY = ("edition", "city", "indicator", "level")
DOCUMENT_KEY = ("doc", "city", "indicator", "level", "start", "end", "confidence")
CONFIDENT = ("high", "medium")


@dataclass(frozen=True)
class Scored:
    question: Question
    row: dict
    gold: int
    proposed: int | None  # None: no proposal (no evidence, or the call failed)
    citations: int
    verified: int
    supported: bool  # rests on an achieved, verbatim citation
    flagged_plans: bool  # lowered because it rested on plans
    gathered: bool | None  # the key's supporting sentence was among the passages (None: no sentence to find)

    @property
    def language(self) -> str:
        return self.question.city.languages[0]

    @property
    def confident(self) -> bool:
        return self.row.get("confidence") in (None, "", *CONFIDENT)


def _read_csv(path: Path) -> list[dict]:
    rows = read_csv(path)
    if not rows:
        return rows
    columns = DOCUMENT_KEY if "doc" in rows[0] else CITY_KEY
    for n, row in enumerate(rows, 2):
        for column in columns:
            if row.get(column) is None:
                raise DataError(path, f"line {n}", f"missing column {column!r}")
        if not row["level"].strip().isdigit():
            raise DataError(path, f"line {n}", f"level {row['level']!r} is not a whole number")
        if "doc" in row and row["confidence"] not in ("high", "medium", "low"):
            raise DataError(path, f"line {n}", f"confidence {row['confidence']!r} is not high, medium or low")
    return rows


def read_key(path: Path, edition: str | None = None) -> list[dict]:
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise DataError(path, "", "no answer-key CSV files in this folder")
    rows, seen = [], set()
    for file in files:
        for n, row in enumerate(_read_csv(file), 2):
            if "doc" in row:
                if not edition:
                    raise DataError(file, "edition", "a per-document key names no edition: give --edition")
                row = {**row, "edition": edition}
            key = (row["edition"], row.get("doc") or row["city"], row["indicator"])
            if key in seen:
                raise DataError(file, f"line {n}", f"{'/'.join(key)} is listed twice in the answer key")
            seen.add(key)
            rows.append({**row, "level": int(row["level"]), "_file": file, "_line": n})
    return rows


def key_questions(rows: list[dict], documents: dict[str, int] | None = None) -> list[Question]:
    out = []
    for row in rows:
        try:
            q, = questions(row["edition"], [row["city"]], [row["indicator"]])
        except Exception as e:  # an unknown edition, city or indicator: name the row
            raise DataError(row["_file"], f"line {row['_line']}", str(e)) from None
        out.append(Question(q.edition, q.city, q.indicator, (documents or {}).get(row.get("doc") or "")))
    return out


def document_ids(settings: Settings, rows: list[dict]) -> dict[str, int]:
    """Each `doc` of the key -> the collected document whose URL ends in it (without the extension)."""
    wanted = {row["doc"]: row for row in rows if row.get("doc")}
    if not wanted:
        return {}
    found: dict[str, int] = {}
    with session_scope(settings.database) as session:
        for url, document_id, city in session.execute(
                select(Snapshot.url, Snapshot.document_id, Document.city).join(Document)):
            stem = PurePosixPath(urlsplit(url).path).stem
            if stem in wanted and wanted[stem]["city"] == city:
                found[stem] = document_id
    for doc, row in wanted.items():
        if doc not in found:
            raise DataError(row["_file"], f"line {row['_line']}", f"document {doc!r} of {row['city']} was never "
                                                                   "collected (crawl and index it first)")
    return found


def metrics(gold: list[int], proposed: list[int], labels: list[int]) -> dict:
    n = len(gold)
    if not n:
        return {"n": 0, "exact": None, "within_one": None, "kappa": None, "kappa_quadratic": None}
    g, p = np.array(gold), np.array(proposed)
    varied = len(set(gold) | set(proposed)) > 1
    return {"n": n, "exact": float(np.mean(g == p)), "within_one": float(np.mean(np.abs(g - p) <= 1)),
            "kappa": _kappa(g, p, labels, "linear") if varied else None,
            "kappa_quadratic": _kappa(g, p, labels, "quadratic") if varied else None}


def _kappa(gold: np.ndarray, proposed: np.ndarray, labels: list[int], weights: str) -> float | None:
    kappa = float(cohen_kappa_score(gold, proposed, labels=labels, weights=weights))
    return None if np.isnan(kappa) else kappa


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _summary(items: list[Scored], majority: int, labels: list[int]) -> dict:
    gold = [s.gold for s in items]
    proposed = [s.proposed if s.proposed is not None else 0 for s in items]  # no proposal counts as level 0
    cited = sum(s.citations for s in items)
    nonzero = [s for s in items if s.proposed]
    findable = [s for s in items if s.gathered is not None]
    return {**metrics(gold, proposed, labels), "missing": sum(s.proposed is None for s in items),
            "citations": cited, "citation_support": _share(sum(s.verified for s in items), cited),
            "nonzero": len(nonzero),
            "supported": _share(sum(s.supported and s.gold >= (s.proposed or 0) for s in nonzero), len(nonzero)),
            "planned_only_shown": sum(not s.supported and not s.flagged_plans for s in nonzero),
            "lowered_as_planned": sum(s.flagged_plans for s in items),
            "sentence_recall": _share(sum(bool(s.gathered) for s in findable), len(findable)),
            "baseline": metrics(gold, [majority] * len(gold), labels)}


_SPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def gold_sentence(row: dict, docs: Path | None) -> str | None:
    """The key's supporting sentence, from `<docs>/<doc>.txt` and the row's offsets."""
    if not row.get("doc") or not row.get("start") or docs is None:
        return None
    path = docs / f"{row['doc']}.txt"
    if not path.exists():
        raise DataError(path, "", f"the document of line {row['_line']} of {row['_file']} is not in {docs}")
    return path.read_text(encoding="utf-8")[int(row["start"]):int(row["end"])]


def was_gathered(sentence: str, texts: list[str]) -> bool:
    """The sentence is among the passages: whole, or (when a chunk boundary cut it) its first or last
    half, ignoring whitespace (PDF text keeps its line breaks inside sentences)."""
    wanted = _squash(sentence)
    half = max(8, len(wanted) // 2)
    squashed = [_squash(t) for t in texts]
    return any(wanted in t or wanted[:half] in t or wanted[-half:] in t for t in squashed)


def _proposals(settings: Settings, ids: list[int]) -> dict[int, tuple[Proposal, list[str]]]:
    """Proposals by id, each with the texts of the passages it was made from."""
    with session_scope(settings.database) as session:
        rows = session.scalars(select(Proposal).options(selectinload(Proposal.citations))
                               .where(Proposal.id.in_(ids))).all() if ids else []
        chunk_ids = sorted({c for p in rows for c in p.evidence_chunks})
        texts = dict(session.execute(select(Chunk.id, Chunk.text).where(Chunk.id.in_(chunk_ids))).all()) \
            if chunk_ids else {}
    return {p.id: (p, [texts[c] for c in p.evidence_chunks if c in texts]) for p in rows}


def evaluate(settings: Settings, key_path: Path, run: ProposalRun, edition: str | None = None,
             docs: Path | None = None) -> dict:
    rows = read_key(key_path, edition)
    docs = docs or ((key_path if key_path.is_dir() else key_path.parent) / "docs")
    batch = key_questions(rows, document_ids(settings, rows))
    report = run.run(batch)
    ids = {o.question.scope: o.proposal_id for o in report.outcomes}
    made = _proposals(settings, [i for i in ids.values() if i])
    scored = [_score(row, q, made.get(ids.get(q.scope) or -1), gold_sentence(row, docs)) for row, q in zip(rows, batch)]
    counts = Counter(s.gold for s in scored)
    majority = min(counts, key=lambda level: (-counts[level], level))
    labels = list(range(0, max([s.gold for s in scored] + [s.proposed or 0 for s in scored]) + 1))
    groups = {"document": lambda s: s.row.get("doc") or s.question.city.id,
              "indicator": lambda s: s.question.indicator.id, "language": lambda s: s.language}
    return {
        "key": str(key_path), "method": run.method, "model": run.model, "prompt_version": run.version,
        "majority_level": majority, "labels": labels,
        "overall": _summary(scored, majority, labels),
        "confident": _summary([s for s in scored if s.confident], majority, labels),
        **{f"by_{name}": {value: _summary([s for s in scored if by(s) == value], majority, labels)
                          for value in sorted({by(s) for s in scored})} for name, by in groups.items()},
        "confusion": confusion_matrix([s.gold for s in scored], [s.proposed or 0 for s in scored], labels=labels).tolist(),
        "run": {k: v for k, v in report.as_dict().items() if k != "outcomes"},
        "cost": _cost(report.outcomes),
        "questions": [{"edition": s.question.edition.id, "city": s.question.city.id, "doc": s.row.get("doc"),
                       "indicator": s.question.indicator.id, "gold": s.gold, "confidence": s.row.get("confidence"),
                       "proposed": s.proposed, "citations": s.citations, "verified": s.verified,
                       "supported": s.supported, "gathered": s.gathered} for s in scored],
    }


def _cost(outcomes) -> dict:
    """Per proposal made in this run (failed ones included): tokens in and out, seconds."""
    made = [o for o in outcomes if o.status in ("proposed", "failed")]

    def mean(values: list) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    return {"proposals": len(made), "failed": sum(o.status == "failed" for o in made),
            "tokens_in": mean([o.tokens_in for o in made]), "tokens_out": mean([o.tokens_out for o in made]),
            "seconds": mean([o.latency_ms / 1000 for o in made])}


def _score(row: dict, q: Question, made: tuple[Proposal, list[str]] | None, sentence: str | None) -> Scored:
    if made is None:
        return Scored(q, row, row["level"], None, 0, 0, False, False, None if sentence is None else False)
    p, texts = made
    return Scored(q, row, row["level"], p.level, len(p.citations), sum(c.verified for c in p.citations),
                  any(c.verified and c.status in ("achieved", None) for c in p.citations) and p.level > 0,
                  "rests-on-plans" in (p.flags or []),
                  None if sentence is None else was_gathered(sentence, texts))
