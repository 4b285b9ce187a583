"""Who sees and decides which item: the author's assignments, then the languages a reviewer reads.

An item (a proposal under review) is routed to a reviewer when an open assignment covers its edition,
and its city and indicator when the assignment names them, and the reviewer reads one of the languages
of its evidence (the cited passages and evidence snapshots; the city's languages when there is none).
Authors see every item. Anything not routed is invisible in the queue and refused when opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.database import batches, lookup
from evidence.errors import DataError, DataErrors, EvidenceError
from evidence.record import Assignment, Chunk, Proposal, Reviewer, Snapshot, now
from frameworks import load_framework
from sources import load_registry


class Cited(Protocol):
    @property
    def chunk_id(self) -> str: ...


class Routable(Protocol):
    """What routing reads of a proposal: a Proposal, or the queue's plain row of one (review.decisions.ItemRow)."""

    @property
    def id(self) -> int: ...
    @property
    def edition(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def indicator(self) -> str: ...
    @property
    def citations(self) -> Sequence[Cited]: ...
    @property
    def evidence_chunks(self) -> list: ...
    @property
    def evidence_snapshots(self) -> list: ...


class Forbidden(EvidenceError):
    """The item is not routed to this reviewer, or the step needs an author."""


def is_author(reviewer: Reviewer) -> bool:
    return reviewer.role == "author"


def open_assignment(session: Session, reviewer: Reviewer, edition: str, by: Reviewer,
                    city: str | None = None, indicator: str | None = None) -> Assignment:
    """The author opens an edition's items (optionally one city's, one indicator's) to a reviewer."""
    if not is_author(by):
        raise Forbidden(f"only an author can open items to reviewers; {by.name} is a {by.role}")
    framework = load_framework(edition)
    cities = {c.id: c for c in load_registry().in_edition(edition)}
    if city and city not in cities:
        raise DataError("assignment", "city", f"{city!r} is not a city of edition {edition}")
    if city and not set(cities[city].languages) & set(reviewer.languages or []):
        reads = ", ".join(reviewer.languages or []) or "-"
        raise DataError("assignment", "city", f"{city} publishes in {', '.join(cities[city].languages)}; "
                                              f"{reviewer.name} reads {reads}").worded(
            "err_unread_city", city=city, languages=", ".join(cities[city].languages), name=reviewer.name, reads=reads)
    if indicator and indicator not in {i.id for i in framework.indicators}:
        raise DataError("assignment", "indicator", f"{indicator!r} is not an indicator of edition {edition}")
    same = [a for a in open_assignments(session, reviewer.id)
            if (a.edition, a.city, a.indicator) == (edition, city or None, indicator or None)]
    if same:
        return same[0]  # already open: opening it again changes nothing
    assignment = Assignment(reviewer_id=reviewer.id, edition=edition, city=city or None,
                            indicator=indicator or None, opened_by=by.id)
    session.add(assignment)
    session.flush()
    return assignment


def open_assignments_for(session: Session, reviewer: Reviewer, edition: str, by: Reviewer, cities: list[str],
                         indicators: list[str]) -> list[Assignment]:
    """Open every listed city x indicator (none listed: all of them) to a reviewer; any refused pair (a city
    outside the edition, one whose languages the reviewer does not read) refuses the whole list, each
    refusal named."""
    wanted_cities: list[str | None] = [*cities] or [None]
    wanted_indicators: list[str | None] = [*indicators] or [None]
    pairs = [(c, i) for c in wanted_cities for i in wanted_indicators]
    opened, errors = [], []
    for city, indicator in pairs:
        try:  # every pair is checked before anything is added, so a refusal leaves nothing behind
            opened.append(open_assignment(session, reviewer, edition, by, city, indicator))
        except DataError as e:
            errors.append(e)
    if errors:  # the caller's transaction rolls back what the other pairs added
        raise DataErrors(list({str(e): e for e in errors}.values()))
    return opened


def close_assignment(session: Session, assignment_id: int, by: Reviewer) -> Assignment:
    if not is_author(by):
        raise Forbidden(f"only an author can close an assignment; {by.name} is a {by.role}")
    assignment = lookup(session, Assignment, assignment_id)
    if assignment is None:
        raise DataError("assignment", f"#{assignment_id}", "no such assignment")
    if assignment.closed_at is None:
        assignment.closed_at, assignment.closed_by = now(), by.id
    return assignment


def open_assignments(session: Session, reviewer_id: int | None = None) -> list[Assignment]:
    query = select(Assignment).where(Assignment.closed_at.is_(None)).order_by(Assignment.id)
    if reviewer_id is not None:
        query = query.where(Assignment.reviewer_id == reviewer_id)
    return list(session.scalars(query))


def covers(assignment: Assignment, proposal: Routable) -> bool:
    return (assignment.edition == proposal.edition
            and assignment.city in (None, proposal.city)
            and assignment.indicator in (None, proposal.indicator))


def _ids(values: Iterable, key: str) -> list:
    """Ids listed in a proposal's evidence columns, whether stored bare or as {key: id} records."""
    out = []
    for value in values or []:
        out.append(value.get(key) if isinstance(value, dict) else value)
    return [v for v in out if v is not None]


def evidence_snapshot_ids(proposal: Routable, chunk_snapshots: dict[str, int]) -> set[int]:
    """The snapshots of the cited passages; of all the evidence the proposer read when it cites none."""
    cited = {chunk_snapshots[c.chunk_id] for c in proposal.citations if c.chunk_id in chunk_snapshots}
    if cited:
        return cited
    snapshots = {int(s) for s in _ids(proposal.evidence_snapshots, "snapshot_id") if str(s).isdigit()}
    chunk_ids = [str(c) for c in _ids(proposal.evidence_chunks, "chunk_id")]
    return snapshots | {chunk_snapshots[c] for c in chunk_ids if c in chunk_snapshots}


def evidence_snapshots(session: Session, proposals: Sequence[Routable]) -> dict[int, set[int]]:
    """The snapshots each proposal rests on (see evidence_snapshot_ids)."""
    chunk_ids = {c.chunk_id for p in proposals for c in p.citations}
    chunk_ids |= {str(c) for p in proposals for c in _ids(p.evidence_chunks, "chunk_id")}
    chunk_snapshots: dict[str, int] = {}
    for part in batches(chunk_ids):
        chunk_snapshots.update(session.execute(select(Chunk.id, Chunk.snapshot_id).where(Chunk.id.in_(part))).all())
    return {p.id: evidence_snapshot_ids(p, chunk_snapshots) for p in proposals}


def item_languages(session: Session, proposals: Sequence[Routable],
                   snapshots: dict[int, set[int]] | None = None) -> dict[int, set[str]]:
    """The languages of each proposal's evidence; the city's languages when it cites nothing."""
    per_proposal = snapshots if snapshots is not None else evidence_snapshots(session, proposals)
    wanted = set().union(*per_proposal.values()) if per_proposal else set()
    language: dict[int, str | None] = {}
    for part in batches(wanted):
        language.update(session.execute(select(Snapshot.id, Snapshot.language).where(Snapshot.id.in_(part))).all())
    registry = {c.id: c for c in load_registry().cities}
    out = {}
    for p in proposals:
        found: set[str] = {lang for s in per_proposal[p.id] if (lang := language.get(s))}
        out[p.id] = found or (set(registry[p.city].languages) if p.city in registry else set())
    return out


def routed(reviewer: Reviewer, proposal: Routable, languages: set[str], assignments: list[Assignment]) -> bool:
    if is_author(reviewer):
        return True
    if not any(covers(a, proposal) for a in assignments if a.reviewer_id == reviewer.id):
        return False
    return not languages or bool(languages & set(reviewer.languages or []))


def require_routed(session: Session, reviewer: Reviewer, proposal: Proposal) -> None:
    if is_author(reviewer):
        return
    languages = item_languages(session, [proposal])[proposal.id]
    if not routed(reviewer, proposal, languages, open_assignments(session, reviewer.id)):
        raise Forbidden(f"item #{proposal.id} ({proposal.city}, {proposal.indicator}) is not routed to {reviewer.name}: "
                        "the author has not opened it to you, or you do not read its evidence's language").worded(
            "err_not_routed", item=proposal.id)

