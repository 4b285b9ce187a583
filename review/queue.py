"""The queue: the items routed to a reviewer, those that most need a human first.

Each item gets a priority from what makes a proposal doubtful or costly to get wrong:
low confidence (0.35), the offline and LLM proposals disagreeing (0.25), evidence changed since the
proposal (a newer, different snapshot of a document it rests on, or the proposal marked stale; 0.2),
the indicator's weight relative to the edition's heaviest (0.1) and an unverified citation (0.1).
For an author, items waiting for the author's verdict (round 3) come first. Ties go to the oldest item.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.errors import DataError
from evidence.record import Proposal, Reviewer, Snapshot
from frameworks import load_framework
from frameworks.weights import example_weights_path, load_weights
from review.assignments import evidence_snapshots, is_author, item_languages, open_assignments, routed
from review.decisions import STATUSES, ReviewState, current_proposals, states

LOW_CONFIDENCE = 0.5
HIGH_WEIGHT = 0.75  # share of the edition's heaviest indicator weight


@dataclass(frozen=True)
class QueueFilter:
    edition: str | None = None
    city: str | None = None
    indicator: str | None = None
    language: str | None = None
    status: str = "open"       # open (anything not confirmed) | all | round-1 | round-2 | round-3 | confirmed
    actionable: bool = True    # only what this reviewer can decide now

    def __post_init__(self):
        if self.status not in ("open", "all", *STATUSES):
            raise DataError("queue", "status", f"{self.status!r} is not one of open, all, {', '.join(STATUSES)}")

    def keeps(self, item: QueueItem) -> bool:
        status_ok = (self.status == "all" or (self.status == "open" and not item.state.closed)
                     or item.state.status == self.status)
        return (status_ok and (not self.city or item.city == self.city)
                and (not self.indicator or item.indicator == self.indicator)
                and (not self.language or self.language in item.languages)
                and (item.actionable or not self.actionable))


@dataclass(frozen=True)
class QueueItem:
    id: int
    edition: str
    city: str
    indicator: str
    level: int
    method: str
    confidence: float
    flags: tuple[str, ...]
    state: ReviewState
    languages: tuple[str, ...]
    other_level: int | None      # the other method's newest proposal, when there is one
    evidence_changed: bool
    weight: float | None
    unverified: int
    actionable: bool
    priority: float
    reasons: tuple[str, ...]

    @property
    def status(self) -> str:
        return self.state.status


def indicator_weights(edition: str, weights_path: Path | None = None) -> dict[str, float]:
    """The edition's aggregated weight per indicator (the author's panel, else the example weights).

    Cached per file version: a weights file changed on disk is read again, not seen only after a restart.
    """
    source = weights_path or example_weights_path(edition)
    stamp = source.stat().st_mtime_ns if source.exists() else None
    return _indicator_weights(edition, weights_path, stamp)


@lru_cache(maxsize=64)
def _indicator_weights(edition: str, weights_path: Path | None, _stamp: int | None) -> dict[str, float]:
    framework = load_framework(edition)
    try:
        weights = load_weights(framework, weights_path)
    except DataError:
        return {}  # no panel and no example weights: weight plays no part in the order
    return {ind.id: float(w) for ind, w in zip(framework.indicators, weights.vector)}


def build_queue(session: Session, reviewer: Reviewer, filters: QueueFilter = QueueFilter(),
                weights_path: Path | None = None) -> list[QueueItem]:
    """The items routed to `reviewer` that pass `filters`, in priority order."""
    items = current_proposals(session, filters.edition)
    proposals = [p for key, p in items.items()
                 if (not filters.city or p.city == filters.city) and (not filters.indicator or p.indicator == filters.indicator)]
    snapshots = evidence_snapshots(session, proposals)
    languages = item_languages(session, proposals, snapshots)
    assignments = open_assignments(session, reviewer.id)
    proposals = [p for p in proposals if routed(reviewer, p, languages[p.id], assignments)]
    review = states(session, proposals)
    changed = _evidence_changed(session, proposals, snapshots)
    others = _other_method_levels(session, proposals)
    out = []
    for p in proposals:
        weights = indicator_weights(p.edition, weights_path)
        item = _item(p, reviewer, review[p.id], languages[p.id], others.get(p.id), changed[p.id],
                     weights.get(p.indicator), max(weights.values(), default=0.0))
        if filters.keeps(item):
            out.append(item)
    first_for_author = is_author(reviewer)
    return sorted(out, key=lambda i: (not (first_for_author and i.status == "round-3"), -i.priority, i.id))


def _item(p: Proposal, reviewer: Reviewer, state: ReviewState, languages: set[str], other: int | None,
          changed: bool, weight: float | None, heaviest: float) -> QueueItem:
    unverified = sum(not c.verified for c in p.citations)
    disagree = (other is not None and other != p.level) or any("disagree" in f for f in p.flags or [])
    share = weight / heaviest if weight is not None and heaviest > 0 else 0.0
    confidence = min(max(p.confidence or 0.0, 0.0), 1.0)
    priority = 0.35 * (1 - confidence) + 0.25 * disagree + 0.2 * changed + 0.1 * share + 0.1 * (unverified > 0)
    reasons = [name for name, on in (("low-confidence", confidence < LOW_CONFIDENCE), ("methods-disagree", disagree),
                                     ("evidence-changed", changed), ("high-weight", share >= HIGH_WEIGHT),
                                     ("unverified-citation", unverified > 0)) if on]
    return QueueItem(p.id, p.edition, p.city, p.indicator, p.level, p.method, confidence, tuple(p.flags or []), state,
                     tuple(sorted(languages)), other, changed, weight, unverified, actionable(reviewer, state),
                     round(priority, 4), tuple(reasons))


def actionable(reviewer: Reviewer, state: ReviewState) -> bool:
    """May this reviewer decide the item now (the item page offers the decision only then)?"""
    if state.closed:
        return False
    if state.round == 2 and state.deciders.get(1) == reviewer.id:
        return False  # verification needs someone else
    return state.round < 3 or is_author(reviewer)


def _evidence_changed(session: Session, proposals: list[Proposal], snapshots: dict[int, set[int]]) -> dict[int, bool]:
    """A proposal's evidence changed when a document it rests on has a newer snapshot with other text."""
    wanted = set().union(*snapshots.values()) if snapshots else set()
    rows = session.execute(select(Snapshot.id, Snapshot.document_id, Snapshot.fetched_at, Snapshot.text_sha256)
                           .where(Snapshot.id.in_(wanted))).all() if wanted else []
    seen = {r.id: r for r in rows}
    newest: dict[int, tuple] = {}
    documents = {r.document_id for r in rows}
    if documents:
        for r in session.execute(select(Snapshot.document_id, Snapshot.fetched_at, Snapshot.text_sha256)
                                 .where(Snapshot.document_id.in_(documents))):
            if r.document_id not in newest or r.fetched_at > newest[r.document_id][0]:
                newest[r.document_id] = (r.fetched_at, r.text_sha256)
    out = {}
    for p in proposals:
        moved = any(newest[seen[s].document_id][0] > seen[s].fetched_at
                    and newest[seen[s].document_id][1] != seen[s].text_sha256 for s in snapshots[p.id] if s in seen)
        out[p.id] = bool(p.stale) or moved
    return out


def _other_method_levels(session: Session, proposals: list[Proposal]) -> dict[int, int]:
    keys = {(p.edition, p.city, p.indicator): p for p in proposals}
    editions = {p.edition for p in proposals}
    newest: dict[tuple, tuple[int, int]] = {}
    if editions:
        for r in session.execute(select(Proposal.id, Proposal.edition, Proposal.city, Proposal.indicator,
                                        Proposal.method, Proposal.level).where(Proposal.edition.in_(editions))):
            key = (r.edition, r.city, r.indicator)
            if key in keys and r.method != keys[key].method and (key not in newest or r.id > newest[key][0]):
                newest[key] = (r.id, r.level)
    return {keys[k].id: level for k, (_, level) in newest.items()}


def next_item(session: Session, reviewer: Reviewer, after: int, filters: QueueFilter = QueueFilter(),
              weights_path: Path | None = None) -> int | None:
    """The item to open after deciding `after`: the first other actionable item of the queue."""
    return next((i.id for i in build_queue(session, reviewer, filters, weights_path) if i.id != after), None)
