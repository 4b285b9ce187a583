"""Decisions on proposals, in rounds. Rows are only ever added: the decisions table is the audit log.

The item. For each edition, city and indicator, the proposal under review is the newest LLM proposal,
else the newest offline one; older proposals are superseded and take no new decisions.

The rounds.
  1. First review: a reviewer the item is routed to accepts the proposed level, changes it (with a
     reason) or rejects it for lack of evidence (level 0: no evidence of rung 1).
  2. Verification by a *different* reviewer, of the round-1 level. Agreeing closes the item.
  3. When round 2 disagrees with round 1, an author decides; that verdict closes the item. An author
     may later overrule a closed item with another round-3 verdict.
`attach` records more evidence (a URL to crawl, an uploaded file) in the current round and decides
nothing; the proposer's next proposal on that evidence is a new item to review.
Every verdict row stores the level it settles on, an `accept` included.

Confirmed levels (what reaches scoring), `confirmed_levels(database_url, edition)`: for each
(city, indicator) of the edition, the level of the newest proposal whose review is closed, as set by
the last verdict that closed it or overruled it (round 2 agreeing with round 1, or round 3). A pair
whose review is still open confirms nothing; an older closed proposal's level stands until a newer
proposal of the same pair is closed.

Concurrency. Each decision carries its place in the proposal's history (`sequence`, unique per
proposal). A decision is made from a version (the sequence of the last decision the person saw); if
someone decided in between, `Conflict` is raised, the database keeps the first decision whole and the
second person gets their entries back to decide again on the new state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from evidence.chain import GENESIS, HEAD, decision_digest
from evidence.database import batches, lookup, refuse_nul, session_scope, valid_id
from evidence.errors import DataError, EvidenceError
from evidence.record import Assignment, Attachment, Citation, Decision, DecisionChain, Proposal, Reviewer
from frameworks import load_framework
from review.assignments import Forbidden, is_author, require_routed
from review.attachments import Attached, record

VERDICTS = ("accept", "change", "reject")
ACTIONS = (*VERDICTS, "attach")  # what a reviewer decides; `undo` (see `undo`) takes the last verdict back
STATUSES = ("round-1", "round-2", "round-3", "confirmed")


class Conflict(EvidenceError):
    """Someone decided the item after the version this decision was made from."""

    def __init__(self, proposal_id: int, seen: int, current: int | None = None):
        self.proposal_id, self.seen, self.current = proposal_id, seen, current
        now = f"version {current}" if current is not None else "a newer version"
        super().__init__(f"item #{proposal_id} was decided by someone else since you opened it (you saw version "
                         f"{seen}, it is now at {now}); nothing of yours was recorded: look again and decide anew")


class NoSuchItem(DataError):
    def __init__(self, proposal_id: int):
        super().__init__("item", f"#{proposal_id}", "no such item")
        self.worded("err_no_item", item=proposal_id)


class Refused(EvidenceError):
    """The decision breaks a rule of the rounds (same reviewer twice, round 3 by a non-author, ...)."""


@dataclass(frozen=True)
class ReviewState:
    """Where one proposal's review stands, derived from its decisions."""

    status: str              # round-1 | round-2 | round-3 | confirmed
    round: int               # the round the next verdict belongs to
    on_table: int            # the level an `accept` settles on
    version: int             # sequence of the last decision; 0 before any
    levels: dict[int, int] = field(default_factory=dict)     # round -> its latest verdict level
    deciders: dict[int, int] = field(default_factory=dict)   # round -> reviewer id of that verdict
    confirmed: int | None = None
    closing_decision: int | None = None

    @property
    def closed(self) -> bool:
        return self.status == "confirmed"


class Recorded(Protocol):
    """What the rounds replay of a decision: a Decision, or its row read as plain columns."""

    @property
    def id(self) -> int: ...
    @property
    def sequence(self) -> int | None: ...
    @property
    def action(self) -> str: ...
    @property
    def level(self) -> int | None: ...
    @property
    def round(self) -> int: ...
    @property
    def reviewer_id(self) -> int: ...
    @property
    def undoes(self) -> int | None: ...


def review_state(proposed: int, decisions: Sequence[Recorded]) -> ReviewState:
    """Replay a proposal's decisions (in sequence order) through the rounds."""
    status, rnd, on_table, version = "round-1", 1, proposed, 0
    levels: dict[int, int] = {}
    deciders: dict[int, int] = {}
    confirmed = closing = None
    undone = {d.undoes for d in decisions if d.action == "undo"}
    for d in sorted(decisions, key=lambda d: (d.sequence or 0, d.id or 0)):
        version = max(version, d.sequence or 0)
        if d.action not in VERDICTS or d.id in undone:
            continue
        level = verdict_level(d.action, d.level, on_table)
        levels[d.round], deciders[d.round] = level, d.reviewer_id
        on_table = level
        if d.round == 1:
            status, rnd = "round-2", 2
        elif d.round == 2 and levels.get(1) != level:
            status, rnd = "round-3", 3  # disagreement goes to the author
        else:  # round 2 agreeing with round 1, or the author's round 3
            status, rnd, confirmed, closing = "confirmed", 3, level, d.id
    return ReviewState(status, rnd, on_table, version, levels, deciders, confirmed, closing)


def verdict_level(action: str, level: int | None, on_table: int) -> int:
    if action == "reject":
        return 0
    return on_table if level is None else level


# --- which proposal is the item ----------------------------------------------------------------

def _item_key(p: Proposal) -> tuple[str, str, str]:
    return p.edition, p.city, p.indicator


def _preferred(p: Proposal | ItemRow) -> tuple[int, int]:
    return (p.method == "llm", p.id)


@dataclass(frozen=True)
class CitedChunk:
    chunk_id: str
    verified: bool


@dataclass(frozen=True)
class ItemRow:
    """A proposal under review as the queue reads it: plain columns, no ORM objects, since an edition has
    thousands of items and building an ORM object costs far more than reading its row."""

    id: int
    edition: str
    city: str
    indicator: str
    level: int
    method: str
    confidence: float
    flags: tuple[str, ...]
    stale: bool
    evidence_chunks: list
    evidence_snapshots: list
    citations: tuple[CitedChunk, ...]


def current_rows(session: Session, edition: str | None = None, city: str | None = None,
                 indicator: str | None = None) -> dict[tuple[str, str, str], ItemRow]:
    """`current_proposals` as plain rows, optionally for one city or indicator."""
    columns = (Proposal.id, Proposal.edition, Proposal.city, Proposal.indicator, Proposal.method)
    query = select(*columns)
    for column, value in ((Proposal.edition, edition), (Proposal.city, city), (Proposal.indicator, indicator)):
        if value:
            query = query.where(column == value)
    chosen: dict[tuple[str, str, str], tuple[int, int]] = {}
    for r in session.execute(query):
        key, rank = (r.edition, r.city, r.indicator), (r.method == "llm", r.id)
        if key not in chosen or rank > chosen[key]:
            chosen[key] = rank
    return {(r.edition, r.city, r.indicator): r for r in _item_rows(session, [rank[1] for rank in chosen.values()])}


def _item_rows(session: Session, ids: list[int]) -> list[ItemRow]:
    cited: dict[int, list[CitedChunk]] = {}
    rows: list = []
    for part in batches(ids):
        for c in session.execute(select(Citation.proposal_id, Citation.chunk_id, Citation.verified)
                                 .where(Citation.proposal_id.in_(part)).order_by(Citation.id)):
            cited.setdefault(c.proposal_id, []).append(CitedChunk(c.chunk_id, bool(c.verified)))
        rows += session.execute(select(Proposal.id, Proposal.edition, Proposal.city, Proposal.indicator, Proposal.level,
                                       Proposal.method, Proposal.confidence, Proposal.flags, Proposal.stale,
                                       Proposal.evidence_chunks, Proposal.evidence_snapshots)
                                .where(Proposal.id.in_(part))).all()
    return [ItemRow(r.id, r.edition, r.city, r.indicator, r.level, r.method, r.confidence or 0.0, tuple(r.flags or ()),
                    bool(r.stale), r.evidence_chunks or [], r.evidence_snapshots or [], tuple(cited.get(r.id, ())))
            for r in rows]


def current_proposals(session: Session, edition: str | None = None) -> dict[tuple[str, str, str], Proposal]:
    """The proposal under review for each (edition, city, indicator), citations loaded."""
    query = select(Proposal).options(selectinload(Proposal.citations))
    if edition:
        query = query.where(Proposal.edition == edition)
    items: dict[tuple[str, str, str], Proposal] = {}
    for p in session.scalars(query):
        key = _item_key(p)
        if key not in items or _preferred(p) > _preferred(items[key]):
            items[key] = p
    return items


def second_opinion(session: Session, proposal: Proposal) -> Proposal | None:
    """The newest proposal of the other method for the same item (offline vs LLM), if any."""
    return session.scalar(
        select(Proposal).where(Proposal.edition == proposal.edition, Proposal.city == proposal.city,
                               Proposal.indicator == proposal.indicator, Proposal.method != proposal.method)
        .order_by(Proposal.id.desc()).limit(1))


def decisions_of(session: Session, proposal_ids: list[int]) -> dict[int, list[Decision]]:
    out: dict[int, list[Decision]] = {pid: [] for pid in proposal_ids}
    if proposal_ids:
        for d in session.scalars(select(Decision).where(Decision.proposal_id.in_(proposal_ids))
                                 .order_by(Decision.sequence, Decision.id)):
            out[d.proposal_id].append(d)
    return out


def states(session: Session, proposals: Sequence[Proposal | ItemRow]) -> dict[int, ReviewState]:
    """Each proposal's review state, from its decisions read as plain rows (only what the rounds replay)."""
    decided: dict[int, list] = {p.id: [] for p in proposals}
    for part in batches(decided):
        for d in session.execute(select(Decision.proposal_id, Decision.id, Decision.sequence, Decision.action,
                                        Decision.level, Decision.round, Decision.reviewer_id, Decision.undoes)
                                 .where(Decision.proposal_id.in_(part))):
            decided[d.proposal_id].append(d)
    return {p.id: review_state(p.level, decided[p.id]) for p in proposals}


def routed_proposal(session: Session, proposal_id: int, reviewer: Reviewer) -> Proposal:
    """The proposal, if it exists (else NoSuchItem) and is routed to `reviewer` (else Forbidden)."""
    proposal = lookup(session, Proposal, proposal_id)
    if proposal is None:
        raise NoSuchItem(proposal_id)
    require_routed(session, reviewer, proposal)
    return proposal


# --- deciding -----------------------------------------------------------------------------------

def decide(session: Session, proposal_id: int, reviewer: Reviewer, action: str, *, level: int | None = None,
           reason: str = "", version: int | None = None, evidence: Sequence[Attached] = ()) -> Decision:
    """Record one decision, checking routing, the rounds and the version it was made from; it is chained to
    the decision before it (`verify_chain`), one decision at a time."""
    head = _chain_head(session)
    proposal = routed_proposal(session, proposal_id, reviewer)
    current = current_rows(session, *_item_key(proposal)).get(_item_key(proposal))
    if current is not None and current.id != proposal.id:
        raise Refused(f"item #{proposal.id} is superseded by proposal #{current.id}; decide on that one").worded(
            "err_superseded", item=proposal.id, current=current.id)
    state = review_state(proposal.level, decisions_of(session, [proposal.id])[proposal.id])
    if version is not None and version != state.version:
        raise Conflict(proposal.id, version, state.version)
    reason = refuse_nul("decision", "reason", (reason or "").strip()) or ""
    decided_level = _check(proposal, reviewer, action, level, reason, state, evidence)
    decision = Decision(proposal_id=proposal.id, reviewer_id=reviewer.id, round=state.round, action=action,
                        level=decided_level, reason=reason, sequence=state.version + 1)
    return _append(session, head, decision, evidence)


def undo(session: Session, proposal_id: int, reviewer: Reviewer, *, version: int, reason: str = "") -> Decision:
    """Take back the item's last verdict: a new decision (audited, chained) that the rounds replay without it.
    Only its maker or an author may, and only while nothing was decided on the item after it."""
    head = _chain_head(session)
    proposal = routed_proposal(session, proposal_id, reviewer)
    decisions = decisions_of(session, [proposal.id])[proposal.id]
    state = review_state(proposal.level, decisions)
    if version != state.version:
        raise Conflict(proposal.id, version, state.version)
    last = next((d for d in reversed(decisions) if d.action != "attach"), None)
    if last is None or last.action not in VERDICTS:
        raise Refused(f"item #{proposal.id} has no verdict to undo (an undo is not undone: decide again instead)"
                      ).worded("err_nothing_to_undo", item=proposal.id)
    if last.reviewer_id != reviewer.id and not is_author(reviewer):
        raise Refused(f"the last verdict on item #{proposal.id} is not yours; only its maker or an author can undo it"
                      ).worded("err_not_your_verdict", item=proposal.id)
    reason = refuse_nul("decision", "reason", (reason or "").strip()) or f"undoes decision #{last.id}"
    decision = Decision(proposal_id=proposal.id, reviewer_id=reviewer.id, round=last.round, action="undo",
                        level=None, reason=reason, sequence=state.version + 1, undoes=last.id)
    return _append(session, head, decision, ())


def _append(session: Session, head: DecisionChain, decision: Decision, evidence: Sequence[Attached]) -> Decision:
    """Add `decision` after the chain's head: its place in the item's history is unique (else Conflict)."""
    session.add(decision)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(decision.proposal_id, (decision.sequence or 1) - 1) from None  # that sequence was taken first
    rows = record(session, decision, list(evidence)) if evidence else []
    decision.digest = decision_digest(head.digest, _chained(decision), [_chained(a) for a in rows])
    head.last_id, head.digest, head.length = decision.id, decision.digest, head.length + 1
    return decision


def _chained(row: Decision | Attachment) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def _chain_head(session: Session) -> DecisionChain:
    """The chain's head, locked for the rest of this transaction (an UPDATE takes PostgreSQL's row lock and
    SQLite's write lock), so two decisions never chain to the same predecessor and ids follow the chain."""
    session.execute(update(DecisionChain).where(DecisionChain.name == HEAD).values(length=DecisionChain.length))
    head = session.scalars(select(DecisionChain).where(DecisionChain.name == HEAD)
                           .execution_options(populate_existing=True)).first()
    if head is None:  # removed by hand: the chain goes on from the newest decision (verify_chain says so)
        last = session.scalars(select(Decision).order_by(Decision.id.desc()).limit(1)).first()
        head = DecisionChain(name=HEAD, last_id=last.id if last else None,
                             digest=(last.digest if last else None) or GENESIS,
                             length=session.scalar(select(func.count(Decision.id))) or 0)
        session.add(head)
        session.flush()
    return head


def _check(proposal: Proposal, reviewer: Reviewer, action: str, level: int | None, reason: str,
           state: ReviewState, evidence) -> int | None:
    if action not in ACTIONS:
        raise DataError("decision", "action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    if action == "attach":
        if not evidence:
            raise DataError("decision", "attach", "give a URL to crawl or a file").worded("err_attach_nothing")
        return None
    if state.closed and not is_author(reviewer):
        raise Refused(f"item #{proposal.id} is confirmed at level {state.confirmed}; only an author can overrule it"
                      ).worded("err_confirmed", item=proposal.id, level=state.confirmed)
    if state.round == 2 and state.deciders.get(1) == reviewer.id:
        raise Refused(f"{reviewer.name} made the round-1 decision on item #{proposal.id}; "
                      "round 2 is verification by a different reviewer")
    if state.round == 3 and not is_author(reviewer):
        raise Forbidden(f"rounds 1 and 2 disagree on item #{proposal.id}; the author decides it").worded(
            "err_author_decides", item=proposal.id)
    if action == "reject":
        if state.on_table != 0 and not reason:
            raise DataError("decision", "reason", f"rejecting level {state.on_table} needs a reason: what evidence is "
                            "missing").worded("err_reject_reason", level=state.on_table)
        return 0
    if action == "accept":
        return state.on_table
    top = _top(proposal)
    if level is None or not 0 <= level <= top:
        raise DataError("decision", "level", f"give a level from 0 to {top} (the top of the {proposal.indicator} "
                        "ladder)").worded("err_level_range", top=top)
    if not reason:
        raise DataError("decision", "reason", "changing the level needs a reason").worded("err_change_reason")
    if level == state.on_table:
        raise DataError("decision", "level", f"level {level} is the level on the table; accept it instead").worded(
            "err_level_on_table", level=level)
    return level


def _top(proposal: Proposal) -> int:
    return load_framework(proposal.edition).indicator(proposal.indicator).top


# --- what reaches scoring -----------------------------------------------------------------------

@dataclass(frozen=True)
class Confirmation:
    level: int
    proposal_id: int
    decision_id: int


def confirmations(session: Session, edition: str) -> dict[tuple[str, str], Confirmation]:
    """Per (city, indicator): the newest closed proposal's confirmed level and the verdict that set it."""
    proposals = list(session.scalars(select(Proposal).where(Proposal.edition == edition).order_by(Proposal.id)))
    out: dict[tuple[str, str], Confirmation] = {}
    decided = decisions_of(session, [p.id for p in proposals])
    for p in proposals:  # in id order, so a newer closed proposal replaces an older one
        state = review_state(p.level, decided[p.id])
        if state.confirmed is not None and state.closing_decision is not None:  # both set when it closed
            out[(p.city, p.indicator)] = Confirmation(state.confirmed, p.id, state.closing_decision)
    return out


def confirmed_levels(database_url: str, edition: str) -> dict[tuple[str, str], int]:
    """Per (city, indicator) of `edition`, the level confirmed by the last round (see the module doc)."""
    with session_scope(database_url) as session:
        return {key: c.level for key, c in confirmations(session, edition).items()}


# --- the audit log -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainCheck:
    """What `verify_chain` found: how many decisions, the newest digest, and each break with its decision."""

    decisions: int
    head: str
    problems: list[tuple[int | None, str]]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(session: Session) -> ChainCheck:
    """Recompute the decisions' hash chain in id order: a row edited, removed or added by hand (not through
    `decide`) breaks it at that row; rows removed at the end show against the chain's head."""
    evidence: dict[int, list[dict]] = {}
    for a in session.scalars(select(Attachment).order_by(Attachment.id)):
        evidence.setdefault(a.decision_id, []).append(_chained(a))
    problems: list[tuple[int | None, str]] = []
    previous, count, last = GENESIS, 0, None
    for d in session.scalars(select(Decision).order_by(Decision.id)):
        count, last = count + 1, d
        if d.digest is None:
            problems.append((d.id, "not chained: added to the table by hand, not by a decision"))
            continue
        if decision_digest(previous, _chained(d), evidence.get(d.id, [])) != d.digest:
            problems.append((d.id, "does not match its digest: edited by hand, or a decision just before it "
                                   "removed or added"))
        previous = d.digest
    head = session.get(DecisionChain, HEAD)
    if head is None:
        problems.append((None, "the chain's head (table decision_chain) is missing"))
    elif (last is None and head.last_id is not None) or (last is not None and head.last_id != last.id):
        newest = f"#{last.id}" if last else "none"
        problems.append((head.last_id, f"the chain's head is decision #{head.last_id} but the newest decision is "
                                       f"{newest}: decisions removed or added at the end"))
    elif last is not None and head.digest != last.digest:
        problems.append((last.id, "the newest decision's digest is not the chain's head: edited by hand"))
    if head is not None and head.length != count:
        problems.append((None, f"{count} decisions in the table, {head.length} chained"))
    return ChainCheck(count, previous, problems)


@dataclass(frozen=True)
class Step:
    """One line of the audit log: who did what, when, to which item, and why."""

    at: datetime
    who: str
    what: str                 # accept | change | reject | attach | assign | unassign
    item: int | None = None
    edition: str | None = None
    city: str | None = None
    indicator: str | None = None
    round: int | None = None
    level: int | None = None
    reason: str = ""
    evidence: tuple[str, ...] = ()


def audit_log(session: Session, proposal_id: int | None = None, edition: str | None = None) -> list[Step]:
    """Every decision (with its evidence) and, unless one item is asked for, every assignment step."""
    names = dict(session.execute(select(Reviewer.id, Reviewer.name)).all())
    query = select(Decision, Proposal).join(Proposal, Decision.proposal_id == Proposal.id)
    if proposal_id is not None and not valid_id(proposal_id):
        return []  # no item has such an id
    if proposal_id is not None:
        query = query.where(Decision.proposal_id == proposal_id)
    if edition:
        query = query.where(Proposal.edition == edition)
    rows = session.execute(query.order_by(Decision.id)).all()
    attached: dict[int, list[str]] = {}
    ids = [d.id for d, _ in rows]
    if ids:
        for a in session.scalars(select(Attachment).where(Attachment.decision_id.in_(ids)).order_by(Attachment.id)):
            attached.setdefault(a.decision_id, []).append(a.url or f"file {a.filename} (sha256 {(a.sha256 or '')[:12]})")
    steps = [Step(d.created_at, names.get(d.reviewer_id, f"#{d.reviewer_id}"), d.action, p.id, p.edition, p.city,
                  p.indicator, d.round, d.level, d.reason, tuple(attached.get(d.id, ()))) for d, p in rows]
    if proposal_id is None:
        steps += _assignment_steps(session, names, edition)
    return sorted(steps, key=lambda s: s.at)


def _assignment_steps(session: Session, names: dict, edition: str | None) -> list[Step]:
    query = select(Assignment)
    if edition:
        query = query.where(Assignment.edition == edition)
    steps = []
    for a in session.scalars(query):
        scope = " ".join(x for x in (a.edition, a.city or "every city", a.indicator or "every indicator"))
        whom = names.get(a.reviewer_id, f"#{a.reviewer_id}")
        steps.append(Step(a.opened_at, names.get(a.opened_by, "?"), "assign", edition=a.edition, city=a.city,
                          indicator=a.indicator, reason=f"opened {scope} to {whom}"))
        if a.closed_at:
            steps.append(Step(a.closed_at, names.get(a.closed_by, "?"), "unassign", edition=a.edition, city=a.city,
                              indicator=a.indicator, reason=f"closed {scope} for {whom}"))
    return steps
