"""Progress of the review and agreement as Cohen's kappa: round 1 vs round 2, the proposer vs the
reviewers (pooled and per reviewer), the proposer vs the confirmed levels.

Kappa corrects the share of agreement for what chance alone would give; the linearly weighted kappa
also credits near misses, which suits ordered ladder levels. Kappa is undefined (shown as none) when
every level on both sides is the same one.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.record import Decision, Proposal, Reviewer
from review.assignments import item_languages
from review.decisions import STATUSES, VERDICTS, current_proposals, decisions_of, review_state

Pairs = tuple[list, list]  # the levels of both sides, in step


@dataclass(frozen=True)
class Agreement:
    between: str               # rounds | proposer-round-1 | proposer-confirmed | proposer-reviewer
    n: int
    observed: float | None     # share of items with the same level on both sides
    kappa: float | None
    weighted: float | None     # linear weights
    reviewer: str | None = None


@dataclass(frozen=True)
class Progress:
    edition: str | None
    by_status: dict[str, int]
    agreements: list[Agreement]
    # the same counts broken down: city, evidence language -> status -> items; reviewer -> round -> verdicts
    by_city: dict[str, dict[str, int]] = field(default_factory=dict)
    by_language: dict[str, dict[str, int]] = field(default_factory=dict)
    by_reviewer: dict[str, dict[int, int]] = field(default_factory=dict)
    # round 1 against round 2, per indicator and per evidence language
    by_indicator_agreement: list[Agreement] = field(default_factory=list)
    by_language_agreement: list[Agreement] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def open(self) -> int:
        return self.total - self.by_status.get("confirmed", 0)


def agreement(between: str, first: list[int], second: list[int], reviewer: str | None = None) -> Agreement:
    from sklearn.metrics import cohen_kappa_score

    n = len(first)
    if n == 0:
        return Agreement(between, 0, None, None, None, reviewer)
    observed = sum(a == b for a, b in zip(first, second)) / n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns before returning nan for an undefined kappa
        kappa = cohen_kappa_score(first, second)
        weighted = cohen_kappa_score(first, second, weights="linear")
    return Agreement(between, n, observed, _defined(kappa), _defined(weighted), reviewer)


def _defined(value: float) -> float | None:
    return None if value != value else float(value)  # NaN: every level the same on both sides


def progress(session: Session, edition: str | None = None) -> Progress:
    items = list(current_proposals(session, edition).values())
    decided = decisions_of(session, [p.id for p in items])
    languages = item_languages(session, items)
    names = dict(session.execute(select(Reviewer.id, Reviewer.name)).all())
    counts: Counter = Counter()
    by_city: dict[str, Counter] = {}
    by_language: dict[str, Counter] = {}
    by_reviewer: dict[str, Counter] = {}
    rounds_by: dict[str, dict[str, Pairs]] = {"indicator": {}, "language": {}}
    for p in items:
        state = review_state(p.level, decided[p.id])
        counts[state.status] += 1
        by_city.setdefault(p.city, Counter())[state.status] += 1
        for lang in languages[p.id] or {"?"}:
            by_language.setdefault(lang, Counter())[state.status] += 1
            if 1 in state.levels and 2 in state.levels:
                _add(rounds_by["language"].setdefault(lang, ([], [])), state.levels[1], state.levels[2])
        if 1 in state.levels and 2 in state.levels:
            _add(rounds_by["indicator"].setdefault(p.indicator, ([], [])), state.levels[1], state.levels[2])
        for d in _verdicts(decided[p.id], (1, 2, 3)):
            by_reviewer.setdefault(names.get(d.reviewer_id, "?"), Counter())[d.round] += 1
    return Progress(edition, {s: counts.get(s, 0) for s in STATUSES}, agreements(session, edition),
                    _table(by_city), _table(by_language), {k: dict(v) for k, v in sorted(by_reviewer.items())},
                    [agreement("rounds", *pairs, reviewer=k) for k, pairs in sorted(rounds_by["indicator"].items())],
                    [agreement("rounds", *pairs, reviewer=k) for k, pairs in sorted(rounds_by["language"].items())])


def _table(counts: dict[str, Counter]) -> dict[str, dict[str, int]]:
    return {k: {s: c.get(s, 0) for s in STATUSES} for k, c in sorted(counts.items())}


def agreements(session: Session, edition: str | None = None) -> list[Agreement]:
    query = select(Proposal)
    if edition:
        query = query.where(Proposal.edition == edition)
    proposals = list(session.scalars(query))
    decided = decisions_of(session, [p.id for p in proposals])
    names = dict(session.execute(select(Reviewer.id, Reviewer.name)).all())
    rounds: Pairs = ([], [])
    first: Pairs = ([], [])
    confirmed: Pairs = ([], [])
    per_reviewer: dict[str, Pairs] = {}
    for p in proposals:
        state = review_state(p.level, decided[p.id])
        if 1 in state.levels and 2 in state.levels:
            _add(rounds, state.levels[1], state.levels[2])
        if 1 in state.levels:
            _add(first, p.level, state.levels[1])
        if state.confirmed is not None:  # set when the item closed
            _add(confirmed, p.level, state.confirmed)
        for d in _verdicts(decided[p.id], (1, 2)):
            _add(per_reviewer.setdefault(names.get(d.reviewer_id, "?"), ([], [])), p.level, d.level)
    out = [agreement("rounds", *rounds), agreement("proposer-round-1", *first),
           agreement("proposer-confirmed", *confirmed)]
    return out + [agreement("proposer-reviewer", *pairs, reviewer=name) for name, pairs in sorted(per_reviewer.items())]


def _add(pairs: Pairs, a: int, b: int | None) -> None:
    pairs[0].append(a)
    pairs[1].append(b)


def _verdicts(decisions: list[Decision], rounds: tuple[int, ...]) -> list[Decision]:
    return [d for d in decisions if d.action in VERDICTS and d.round in rounds and d.level is not None]
