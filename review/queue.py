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

import pycountry
from sqlalchemy.orm import Session

from evidence.errors import DataError
from evidence.record import Reviewer
from frameworks import edition_ids, load_framework
from frameworks.weights import example_weights_path, load_weights
from review import standing
from review.assignments import is_author, open_assignments, routed
from review.decisions import STATUSES, ReviewState
from sources import load_registry

LOW_CONFIDENCE = 0.5
HIGH_WEIGHT = 0.75  # share of the edition's heaviest indicator weight


SORTS = ("priority", "city", "indicator", "confidence", "-confidence", "id")


@dataclass(frozen=True)
class QueueFilter:
    """Which routed items to list, and in which order. Values are ids (see `review.facets.resolve` for names)."""

    edition: str | None = None
    city: str | None = None
    indicator: str | None = None
    language: str | None = None
    status: str = "open"       # open (anything not confirmed) | all | round-1 | round-2 | round-3 | confirmed
    actionable: bool = True    # only what this reviewer can decide now
    min_confidence: float | None = None
    sort: str = "priority"

    def __post_init__(self):
        if self.status not in ("open", "all", *STATUSES):
            raise DataError("queue", "status", f"{self.status!r} is not one of open, all, {', '.join(STATUSES)}")
        if self.sort not in SORTS:
            raise DataError("queue", "sort", f"{self.sort!r} is not one of {', '.join(SORTS)}")
        if self.min_confidence is not None and not 0 <= self.min_confidence <= 1:
            raise DataError("queue", "min_confidence", f"{self.min_confidence} is not between 0 and 1")

    def keeps(self, item: QueueItem) -> bool:
        status_ok = (self.status == "all" or (self.status == "open" and not item.state.closed)
                     or item.state.status == self.status)
        return (status_ok and (not self.city or item.city == self.city)
                and (not self.indicator or item.indicator == self.indicator)
                and (not self.language or self.language in item.languages)
                and (self.min_confidence is None or item.confidence >= self.min_confidence)
                and (item.actionable or not self.actionable))


def resolve_filter(edition: str = "", city: str = "", indicator: str = "", language: str = "",
                   **rest) -> QueueFilter:
    """A filter from what a person typed or picked: ids or names (en, zh, local), in any case. A value
    that names nothing is an error naming the field and what is known, never a silently empty queue."""
    editions = {e.casefold(): e for e in edition_ids()}
    chosen_edition = _named("edition", edition, editions)
    frameworks = [load_framework(chosen_edition)] if chosen_edition else [load_framework(e) for e in edition_ids()]
    cities = load_registry().in_edition(chosen_edition) if chosen_edition else list(load_registry().cities)
    city_names = {n.casefold(): c.id for c in cities for n in (c.id, c.name.en, c.name.zh, c.name.local)}
    indicator_names = {n.casefold(): i.id for f in frameworks for i in f.indicators
                       for n in (i.id, i.name.en, i.name.zh, *i.name.other.values())}
    code = language.strip().lower()
    if code and pycountry.languages.get(alpha_2=code) is None:
        raise DataError("queue", "language", f"{language!r} is not an ISO 639-1 language code (ar, en, fr, zh ...)"
                        ).worded("err_language_code", value=language)
    return QueueFilter(chosen_edition, _named("city", city, city_names, chosen_edition),
                       _named("indicator", indicator, indicator_names, chosen_edition), code or None, **rest)


def _named(field: str, value: str, known: dict[str, str], edition: str | None = None) -> str | None:
    wanted = value.strip().casefold()
    if not wanted:
        return None
    if wanted not in known:
        scope = f" of edition {edition}" if edition else ""
        examples = ", ".join(sorted(set(known.values()))[:8])
        raise DataError("queue", field, f"{value!r} is not a known {field}{scope} (for example: {examples})").worded(
            f"err_unknown_{field}", value=value, examples=examples)
    return known[wanted]


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
    """The items routed to `reviewer` that pass `filters`, in the filter's order (priority first by default)."""
    items = [item for item in routed_items(session, reviewer, filters, weights_path) if filters.keeps(item)]
    return sorted(items, key=_order(filters.sort, is_author(reviewer)))


def routed_items(session: Session, reviewer: Reviewer, filters: QueueFilter = QueueFilter(),
                 weights_path: Path | None = None) -> list[QueueItem]:
    """Every item of the filter's edition, city and indicator routed to `reviewer`, unsorted, other filters not
    applied (the facets count these)."""
    facts, decided = standing.current(session)
    memo = _memo_for(reviewer, facts, open_assignments(session, reviewer.id), weights_path)
    out = []
    for f in memo.routed:
        if ((filters.edition and f.row.edition != filters.edition) or (filters.city and f.row.city != filters.city)
                or (filters.indicator and f.row.indicator != filters.indicator)):
            continue
        state = standing.state_of(decided, f)
        known = memo.items.get(f.row.id)
        if known is None or known.state is not state:  # built again only when its decisions changed
            weights = indicator_weights(f.row.edition, weights_path)
            known = memo.items[f.row.id] = _item(f, reviewer, state, weights.get(f.row.indicator),
                                                 max(weights.values(), default=0.0))
        out.append(known)
    return out


@dataclass
class _Memo:
    """One reviewer's routed items and built queue items, for one version of the items' facts and one set of
    the reviewer's assignments: an accept changes one item's state, and only that item is built again."""

    facts: dict
    routing: tuple
    routed: list[standing.Facts]
    items: dict[int, QueueItem]


_memos: dict[tuple, _Memo] = {}


def _memo_for(reviewer: Reviewer, facts: dict[int, standing.Facts], assignments: list, weights_path: Path | None) -> _Memo:
    routing = (reviewer.role, tuple(reviewer.languages or ()), tuple((a.id, a.closed_at) for a in assignments))
    key = (id(facts), reviewer.id, weights_path)
    memo = _memos.get(key)
    if memo is None or memo.facts is not facts or memo.routing != routing:
        routed_facts = [f for f in facts.values() if routed(reviewer, f.row, set(f.languages), assignments)]
        memo = _memos[key] = _Memo(facts, routing, routed_facts, {})
        for stale in [k for k, m in _memos.items() if m.facts is not facts]:
            del _memos[stale]  # an older version of the facts: nobody reads it again
    return memo


def _order(sort: str, author: bool):
    """The sort key: an author's round-3 items lead the priority order; ties go to the oldest item."""
    if sort == "priority":
        return lambda i: (not (author and i.status == "round-3"), -i.priority, i.id)
    if sort in ("confidence", "-confidence"):
        sign = -1 if sort.startswith("-") else 1
        return lambda i: (sign * i.confidence, i.id)
    if sort == "id":
        return lambda i: i.id
    return lambda i: (getattr(i, sort), -i.priority, i.id)


def _item(facts: standing.Facts, reviewer: Reviewer, state: ReviewState, weight: float | None,
          heaviest: float) -> QueueItem:
    p, other = facts.row, facts.other_level
    unverified = sum(not c.verified for c in p.citations)
    disagree = (other is not None and other != p.level) or any("disagree" in f for f in p.flags)
    share = weight / heaviest if weight is not None and heaviest > 0 else 0.0
    confidence = min(max(p.confidence, 0.0), 1.0)
    priority = (0.35 * (1 - confidence) + 0.25 * disagree + 0.2 * facts.changed + 0.1 * share
                + 0.1 * (unverified > 0))
    reasons = [name for name, on in (("low-confidence", confidence < LOW_CONFIDENCE), ("methods-disagree", disagree),
                                     ("evidence-changed", facts.changed), ("high-weight", share >= HIGH_WEIGHT),
                                     ("unverified-citation", unverified > 0)) if on]
    return QueueItem(p.id, p.edition, p.city, p.indicator, p.level, p.method, confidence, p.flags, state,
                     tuple(sorted(facts.languages)), other, facts.changed, weight, unverified,
                     actionable(reviewer, state), round(priority, 4), tuple(reasons))


def actionable(reviewer: Reviewer, state: ReviewState) -> bool:
    """May this reviewer decide the item now (the item page offers the decision only then)?"""
    if state.closed:
        return False
    if state.round == 2 and state.deciders.get(1) == reviewer.id:
        return False  # verification needs someone else
    return state.round < 3 or is_author(reviewer)


def next_item(session: Session, reviewer: Reviewer, after: int, filters: QueueFilter = QueueFilter(),
              weights_path: Path | None = None) -> int | None:
    """The item to open after deciding `after`: the first other item of the reviewer's (filtered) queue."""
    kept = [i for i in routed_items(session, reviewer, filters, weights_path) if i.id != after and filters.keeps(i)]
    return min(kept, key=_order(filters.sort, is_author(reviewer))).id if kept else None


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]                       # this page's items
    total: int                                   # items the filter keeps, on every page
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]]     # field -> (value, items) among the edition's routed items


FACETS = ("city", "indicator", "language", "status")


def queue_page(session: Session, reviewer: Reviewer, filters: QueueFilter, page: int, size: int,
               weights_path: Path | None = None) -> QueuePage:
    """One page of the queue, with the facets (counted over the edition's routed items) to narrow it."""
    every = routed_items(session, reviewer, QueueFilter(edition=filters.edition), weights_path)
    kept = sorted((i for i in every if filters.keeps(i)), key=_order(filters.sort, is_author(reviewer)))
    pages = max(1, -(-len(kept) // size))
    page = min(max(1, page), pages)
    return QueuePage(kept[(page - 1) * size:page * size], len(kept), page, pages, _facets(every))


def _facets(items: list[QueueItem]) -> dict[str, list[tuple[str, int]]]:
    counts: dict[str, dict[str, int]] = {f: {} for f in FACETS}
    for i in items:
        for field, values in (("city", [i.city]), ("indicator", [i.indicator]), ("language", i.languages),
                              ("status", [i.status])):
            for v in values:
                counts[field][v] = counts[field].get(v, 0) + 1
    return {f: sorted(c.items()) for f, c in counts.items()}
