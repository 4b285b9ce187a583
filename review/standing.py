"""Where every item stands, kept between requests: the queue of an edition has thousands of items, and
reading all their proposals, evidence and decisions again for each accept made "accept -> next" take
seconds.

Two parts, each checked against the record on every use, so a change made by any process (a proposer
run, a crawl, a decision taken on another machine) is seen on the next request:
- the facts of each item, besides its decisions: its proposal row, the snapshots and languages of its
  evidence, whether that evidence changed, the other method's level. They change only when proposals
  or snapshots do; the check is the proposals' count, highest id and stale count and the highest
  snapshot id (rows are only added; `stale` is the one column set later);
- the review state of each item, replayed from its decisions. Decisions are only ever added, one at a
  time in id order (the hash chain's lock, review.decisions): new ones are read by id and only the
  items they touch are replayed; a count that does not add up reads them all again.
The token is read before the rows, so a commit landing in between makes the next check reload.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.database import batches
from evidence.record import Decision, Proposal, Snapshot
from review.assignments import evidence_snapshots, item_languages
from review.decisions import ItemRow, ReviewState, current_rows, review_state


@dataclass(frozen=True)
class Facts:
    """What an item's place in the queue rests on, besides its decisions."""

    row: ItemRow
    snapshots: frozenset[int]
    languages: frozenset[str]
    changed: bool             # a document it rests on has a newer, different snapshot, or it is stale
    other_level: int | None   # the other method's newest proposal for the same item


@dataclass
class _Standing:
    facts_token: tuple | None = None
    facts: dict[int, Facts] = field(default_factory=dict)
    decisions_token: tuple[int, int] = (0, 0)   # (count, highest id) of the decisions replayed
    decided: dict[int, list] = field(default_factory=dict)
    states: dict[int, ReviewState] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_by_database: dict[str, _Standing] = {}
_guard = threading.Lock()


def _standing(session: Session) -> _Standing:
    key = session.get_bind().engine.url.render_as_string(hide_password=False)
    with _guard:
        return _by_database.setdefault(key, _Standing())


def current(session: Session) -> tuple[dict[int, Facts], dict[int, ReviewState]]:
    """Every current item's facts and review state, by proposal id (all editions)."""
    standing = _standing(session)
    with standing.lock:
        token = _facts_token(session)
        if token != standing.facts_token:
            standing.facts, standing.facts_token = _read_facts(session), token
            standing.decisions_token, standing.decided = (0, 0), {}
            # every item starts in round 1; each state object stays the same until its decisions change
            standing.states = {pid: review_state(f.row.level, []) for pid, f in standing.facts.items()}
        _replay_new_decisions(session, standing)
        return standing.facts, standing.states


def _facts_token(session: Session) -> tuple:
    proposals = session.execute(select(func.count(Proposal.id), func.max(Proposal.id),
                                       func.count(Proposal.id).filter(Proposal.stale.is_(True)))).one()
    return (*proposals, session.scalar(select(func.max(Snapshot.id))))


def _read_facts(session: Session) -> dict[int, Facts]:
    rows = list(current_rows(session).values())
    snapshots = evidence_snapshots(session, rows)
    languages = item_languages(session, rows, snapshots)
    changed = _evidence_changed(session, rows, snapshots)
    others = _other_method_levels(session, rows)
    return {r.id: Facts(r, frozenset(snapshots[r.id]), frozenset(languages[r.id]), changed[r.id], others.get(r.id))
            for r in rows}


def _replay_new_decisions(session: Session, standing: _Standing) -> None:
    count, highest = session.execute(select(func.count(Decision.id), func.coalesce(func.max(Decision.id), 0))).one()
    seen_count, seen_highest = standing.decisions_token
    if (count, highest) == (seen_count, seen_highest):
        return
    incremental = seen_highest > 0 and count >= seen_count and highest >= seen_highest
    new = session.execute(_decision_rows().where(Decision.id > seen_highest) if incremental else _decision_rows()).all()
    if incremental and seen_count + len(new) != count:  # ids committed out of order: read them all again
        incremental, new = False, session.execute(_decision_rows()).all()
    if not incremental:
        standing.decided = {}
    for d in new:
        standing.decided.setdefault(d.proposal_id, []).append(d)
    standing.decisions_token = (count, highest)
    for pid in {d.proposal_id for d in new} if incremental else set(standing.facts):
        if pid in standing.facts:
            standing.states[pid] = review_state(standing.facts[pid].row.level, standing.decided.get(pid, []))


def _decision_rows():
    return select(Decision.proposal_id, Decision.id, Decision.sequence, Decision.action, Decision.level,
                  Decision.round, Decision.reviewer_id, Decision.undoes).order_by(Decision.id)


def state_of(standing_states: dict[int, ReviewState], facts: Facts) -> ReviewState:
    """An item's state; one with no decision yet stands in round 1 at its proposed level."""
    return standing_states.get(facts.row.id) or review_state(facts.row.level, [])


def _evidence_changed(session: Session, rows: list[ItemRow], snapshots: dict[int, set[int]]) -> dict[int, bool]:
    """A proposal's evidence changed when a document it rests on has a newer snapshot with other text."""
    wanted = set().union(*snapshots.values()) if snapshots else set()
    seen = {}
    for part in batches(wanted):
        seen.update({r.id: r for r in session.execute(select(Snapshot.id, Snapshot.document_id, Snapshot.fetched_at,
                                                             Snapshot.text_sha256).where(Snapshot.id.in_(part)))})
    newest: dict[int, tuple] = {}
    for part in batches({r.document_id for r in seen.values()}):
        for r in session.execute(select(Snapshot.document_id, Snapshot.fetched_at, Snapshot.text_sha256)
                                 .where(Snapshot.document_id.in_(part))):
            if r.document_id not in newest or r.fetched_at > newest[r.document_id][0]:
                newest[r.document_id] = (r.fetched_at, r.text_sha256)
    out = {}
    for p in rows:
        moved = any(newest[seen[s].document_id][0] > seen[s].fetched_at
                    and newest[seen[s].document_id][1] != seen[s].text_sha256 for s in snapshots[p.id] if s in seen)
        out[p.id] = p.stale or moved
    return out


def _other_method_levels(session: Session, rows: list[ItemRow]) -> dict[int, int]:
    keys = {(p.edition, p.city, p.indicator): p for p in rows}
    newest: dict[tuple, tuple[int, int]] = {}
    for r in session.execute(select(Proposal.id, Proposal.edition, Proposal.city, Proposal.indicator,
                                    Proposal.method, Proposal.level)):
        key = (r.edition, r.city, r.indicator)
        if key in keys and r.method != keys[key].method and (key not in newest or r.id > newest[key][0]):
            newest[key] = (r.id, r.level)
    return {keys[k].id: level for k, (_, level) in newest.items()}
