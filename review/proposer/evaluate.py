"""How often the proposer is right: proposals against an answer key, beside a majority-level baseline.

The key is `edition,city,indicator,level,...` (one file, or a folder of them); only the questions it
lists are evaluated. The proposer runs on them first (reusing any proposal already made from the same
inputs), then each question's newest proposal of the method is compared with the key. Reported overall,
per indicator and per language (the city's first language): exact accuracy, within-one accuracy,
linearly weighted Cohen's kappa, the citation support rate (the share of cited quotes found in their
chunks) and a confusion matrix. The baseline always answers the key's most frequent level (ties: the
lower), the strongest constant guess, so beating it means the proposer reads the evidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import Proposal
from evidence.settings import Settings
from review.proposer.run import ProposalRun, Question, questions
from vectorstore.evaluate import read_gold


@dataclass(frozen=True)
class Scored:
    question: Question
    gold: int
    proposed: int | None  # None: no proposal (no evidence, or the call failed)
    citations: int
    verified: int

    @property
    def language(self) -> str:
        return self.question.city.languages[0]


def read_key(path: Path) -> list[dict]:
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise DataError(path, "", "no answer-key CSV files in this folder")
    rows, seen = [], set()
    for file in files:
        for n, row in enumerate(read_gold(file), 2):
            key = (row["edition"], row["city"], row["indicator"])
            if key in seen:
                raise DataError(file, f"line {n}", f"{'/'.join(key)} is listed twice in the answer key")
            seen.add(key)
            rows.append({**row, "level": int(row["level"]), "_file": file, "_line": n})
    return rows


def key_questions(rows: list[dict]) -> list[Question]:
    out = []
    for row in rows:
        try:
            out += questions(row["edition"], [row["city"]], [row["indicator"]])
        except Exception as e:  # an unknown edition, city or indicator: name the row
            raise DataError(row["_file"], f"line {row['_line']}", str(e)) from None
    return out


def newest_proposals(settings: Settings, method: str, keys: set[tuple[str, str, str]]) -> dict[tuple, Proposal]:
    with session_scope(settings.database) as session:
        rows = session.scalars(select(Proposal).options(selectinload(Proposal.citations))
                               .where(Proposal.method == method).order_by(Proposal.id)).all()
    return {(p.edition, p.city, p.indicator): p for p in rows if (p.edition, p.city, p.indicator) in keys}


def metrics(gold: list[int], proposed: list[int], labels: list[int]) -> dict:
    n = len(gold)
    if not n:
        return {"n": 0, "exact": None, "within_one": None, "kappa": None}
    g, p = np.array(gold), np.array(proposed)
    agree = len(set(gold) | set(proposed)) > 1
    kappa = float(cohen_kappa_score(g, p, labels=labels, weights="linear")) if agree else None
    return {"n": n, "exact": float(np.mean(g == p)), "within_one": float(np.mean(np.abs(g - p) <= 1)),
            "kappa": None if kappa is None or np.isnan(kappa) else kappa}


def _summary(items: list[Scored], majority: int, labels: list[int]) -> dict:
    gold = [s.gold for s in items]
    proposed = [s.proposed if s.proposed is not None else 0 for s in items]  # no proposal counts as level 0
    cited = sum(s.citations for s in items)
    return {**metrics(gold, proposed, labels), "missing": sum(s.proposed is None for s in items),
            "citations": cited, "citation_support": sum(s.verified for s in items) / cited if cited else None,
            "baseline": metrics(gold, [majority] * len(gold), labels)}


def evaluate(settings: Settings, key_path: Path, run: ProposalRun) -> dict:
    rows = read_key(key_path)
    batch = key_questions(rows)
    report = run.run(batch)
    newest = newest_proposals(settings, run.method, {q.key for q in batch})
    scored = []
    for row, q in zip(rows, batch):
        p = newest.get(q.key)
        scored.append(Scored(q, row["level"], p.level if p else None, len(p.citations) if p else 0,
                             sum(c.verified for c in p.citations) if p else 0))
    counts = Counter(s.gold for s in scored)
    majority = min(counts, key=lambda level: (-counts[level], level))
    labels = list(range(0, max([s.gold for s in scored] + [s.proposed or 0 for s in scored]) + 1))
    groups = {"indicator": lambda s: s.question.indicator.id, "language": lambda s: s.language}
    return {
        "key": str(key_path), "method": run.method, "model": run.model, "prompt_version": run.version,
        "majority_level": majority, "labels": labels,
        "overall": _summary(scored, majority, labels),
        **{f"by_{name}": {value: _summary([s for s in scored if by(s) == value], majority, labels)
                          for value in sorted({by(s) for s in scored})} for name, by in groups.items()},
        "confusion": confusion_matrix([s.gold for s in scored], [s.proposed or 0 for s in scored], labels=labels).tolist(),
        "run": {k: v for k, v in report.as_dict().items() if k != "outcomes"},
        "questions": [{"edition": s.question.edition.id, "city": s.question.city.id,
                       "indicator": s.question.indicator.id, "gold": s.gold, "proposed": s.proposed,
                       "citations": s.citations, "verified": s.verified} for s in scored],
    }
