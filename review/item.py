"""One item as a reviewer sees it: the ladder with the proposed rung, the rationale, each citation's
quote located in its snapshot's text, where and when the snapshot was taken, the next rung's missing
evidence, the other method's proposal, and the item's history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.record import Attachment, Chunk, Decision, Proposal, Reviewer, Snapshot
from review.assignments import evidence_snapshots, item_languages
from review.decisions import ReviewState, decisions_of, review_state, routed_proposal, second_opinion
from review.queue import actionable

CONTEXT = 400  # characters of the snapshot shown either side of a quote


@dataclass(frozen=True)
class QuotedPassage:
    """A citation: its quote marked inside a window of its snapshot's text."""

    citation_id: int
    chunk_id: str
    quote: str
    verified: bool              # the proposer's quote was found verbatim in its chunk
    status: str | None          # achieved | under-way | planned (None: proposed before statuses existed)
    status_reason: str          # what in the text or its section says so
    section: tuple[str, ...]    # the headings the cited passage sits under
    found: bool                 # the quote was located in the snapshot text
    before: str
    marked: str
    after: str
    cut_before: bool
    cut_after: bool
    url: str | None
    title: str | None
    language: str | None
    snapshot_id: int | None
    snapshot_date: str | None
    published_on: str | None


@dataclass(frozen=True)
class Considered:
    """A passage the proposer read but did not cite: what a reviewer checks on a level-0 or uncited item."""

    chunk_id: str
    text: str
    language: str | None
    section: tuple[str, ...]
    document_id: int | None
    snapshot_id: int


@dataclass(frozen=True)
class Changed:
    """A document the proposal rests on that has a newer, different version since: the diff to read."""

    document_id: int
    old: int
    new: int
    title: str | None


@dataclass(frozen=True)
class RungView:
    level: int
    text: str
    proposed: bool
    on_table: bool
    next: bool
    local: str | None = None  # the rung in the city's language, when the ladder is translated into it


@dataclass(frozen=True)
class HistoryLine:
    id: int
    sequence: int | None
    at: datetime
    who: str
    round: int
    action: str
    level: int | None
    reason: str
    evidence: tuple[str, ...]


@dataclass
class ItemView:
    proposal: Proposal
    city_name: str
    edition_title: str
    indicator_name: str
    draft_ladder: bool
    ladder_language: str | None  # the city's language the rungs are also shown in
    draft_translation: bool  # that translation is a draft the author has not confirmed
    can_decide: bool  # the reviewer may decide now (else the page offers only to attach evidence)
    top: int
    rungs: list[RungView]
    next_rung: RungView | None
    passages: list[QuotedPassage]
    state: ReviewState
    languages: list[str]
    other: Proposal | None
    history: list[HistoryLine] = field(default_factory=list)
    considered: list[Considered] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    search_query: str = ""  # the indicator's name in the city's language, for the pre-filled search

    @property
    def rung_texts(self) -> dict[int, str]:
        return {r.level: r.text for r in self.rungs}

    @property
    def citation_numbers(self) -> dict[str, int]:
        """Each cited passage's number on the page: how the worded rationale refers to it."""
        return {p.chunk_id: n for n, p in enumerate(self.passages, 1)}


def load_item(session: Session, proposal_id: int, reviewer: Reviewer, lang: str = "en") -> ItemView:
    """The item, if it is routed to `reviewer` (else `Forbidden`)."""
    from frameworks import load_framework
    from sources import load_registry

    proposal = routed_proposal(session, proposal_id, reviewer)
    framework = load_framework(proposal.edition)
    indicator = framework.indicator(proposal.indicator)
    decisions = decisions_of(session, [proposal.id])[proposal.id]
    state = review_state(proposal.level, decisions)
    registry = {c.id: c for c in load_registry().cities}
    city = registry.get(proposal.city)
    local = city.languages[0] if city and city.languages[0] != lang and indicator.name.has(city.languages[0]) else None
    rungs = [RungView(r.level, r.text.get(lang), r.level == proposal.level, r.level == state.on_table,
                      r.level == state.on_table + 1, r.text.get(local) if local else None) for r in indicator.rungs]
    return ItemView(
        proposal=proposal,
        city_name=city_name(city, lang) if city else proposal.city,
        edition_title=framework.title.get(lang),
        indicator_name=indicator.name.get(lang),
        draft_ladder=indicator.draft,
        ladder_language=local,
        draft_translation=bool(local and framework.translations.get(local)),
        can_decide=actionable(reviewer, state),
        top=indicator.top,
        rungs=rungs,
        next_rung=next((r for r in rungs if r.next), None),
        passages=passages(session, proposal),
        state=state,
        languages=sorted(item_languages(session, [proposal], evidence_snapshots(session, [proposal]))[proposal.id]),
        other=second_opinion(session, proposal),
        history=history(session, decisions),
        considered=considered(session, proposal),
        changed=changed_documents(session, evidence_snapshots(session, [proposal])[proposal.id]),
        search_query=indicator.name.get(city.languages[0]) if city else indicator.name.en,
    )


def city_name(city, lang: str) -> str:
    """The city's name in the interface's language: English or Chinese, its own name where it speaks `lang`."""
    if lang == "zh":
        return city.name.zh
    return city.name.local if lang != "en" and lang in city.languages else city.name.en


CONSIDERED = 12  # passages read but not cited, shown at most
CONSIDERED_CHARS = 600


def considered(session: Session, proposal: Proposal) -> list[Considered]:
    """The passages the proposer read for this item and did not cite, in the order it read them."""
    cited = {c.chunk_id for c in proposal.citations}
    wanted = [str(c.get("chunk_id") if isinstance(c, dict) else c) for c in proposal.evidence_chunks or []]
    wanted = [c for c in dict.fromkeys(wanted) if c not in cited][:CONSIDERED]
    if not wanted:
        return []
    rows = {r.id: r for r in session.execute(select(Chunk.id, Chunk.text, Chunk.language, Chunk.section,
                                                    Chunk.snapshot_id, Snapshot.document_id)
                                             .join(Snapshot, Snapshot.id == Chunk.snapshot_id).where(Chunk.id.in_(wanted)))}
    return [Considered(r.id, r.text[:CONSIDERED_CHARS], r.language, tuple(r.section or ()), r.document_id, r.snapshot_id)
            for c in wanted if (r := rows.get(c))]


def changed_documents(session: Session, snapshot_ids: set[int]) -> list[Changed]:
    """For each snapshot the item rests on, its document's newest version when that one says something else."""
    if not snapshot_ids:
        return []
    seen = session.execute(select(Snapshot.id, Snapshot.document_id, Snapshot.fetched_at, Snapshot.text_sha256,
                                  Snapshot.title).where(Snapshot.id.in_(snapshot_ids))).all()
    out = []
    for old in seen:
        newest = session.execute(select(Snapshot.id, Snapshot.text_sha256).where(Snapshot.document_id == old.document_id)
                                 .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc()).limit(1)).one()
        if newest.id != old.id and newest.text_sha256 != old.text_sha256:
            out.append(Changed(old.document_id, old.id, newest.id, old.title))
    return out


def passages(session: Session, proposal: Proposal) -> list[QuotedPassage]:
    chunk_ids = [c.chunk_id for c in proposal.citations]
    chunks = {c.id: c for c in session.scalars(select(Chunk).where(Chunk.id.in_(chunk_ids)))} if chunk_ids else {}
    snapshot_ids = {c.snapshot_id for c in chunks.values()}
    snapshots = {s.id: s for s in session.scalars(select(Snapshot).where(Snapshot.id.in_(snapshot_ids)))} \
        if snapshot_ids else {}
    out = []
    for citation in sorted(proposal.citations, key=lambda c: c.id):
        chunk = chunks.get(citation.chunk_id)
        snapshot = snapshots.get(chunk.snapshot_id) if chunk else None
        out.append(_passage(citation, chunk, snapshot))
    return out


def _passage(citation, chunk: Chunk | None, snapshot: Snapshot | None) -> QuotedPassage:
    text = snapshot.text if snapshot else (chunk.text if chunk else "")
    span = locate(citation.quote, text, chunk.start if chunk and snapshot else 0)
    if span:
        start, end = span
        lo, hi = max(0, start - CONTEXT), min(len(text), end + CONTEXT)
    else:  # not there verbatim: show the cited passage unmarked, so the reviewer sees what was cited
        lo, hi = (chunk.start, chunk.end) if chunk and snapshot else (0, len(text))
        start = end = lo
    return QuotedPassage(
        citation_id=citation.id, chunk_id=citation.chunk_id, quote=citation.quote, verified=citation.verified,
        status=citation.status, status_reason=citation.status_reason or "",
        section=tuple(chunk.section or ()) if chunk else (), found=span is not None,
        before=text[lo:start], marked=text[start:end], after=text[end:hi],
        cut_before=lo > 0, cut_after=hi < len(text),
        url=snapshot.url if snapshot else None, title=snapshot.title if snapshot else None,
        language=(snapshot.language if snapshot else None) or (chunk.language if chunk else None),
        snapshot_id=snapshot.id if snapshot else None,
        snapshot_date=snapshot.fetched_at.date().isoformat() if snapshot else None,
        published_on=snapshot.published_on.isoformat() if snapshot and snapshot.published_on else None,
    )


def locate(quote: str, text: str, hint: int = 0) -> tuple[int, int] | None:
    """Where `quote` sits in `text`: verbatim (searching from the cited passage first), else with
    whitespace differences allowed (extraction reflows lines). None when it is not there."""
    quote = quote.strip()
    if not quote:
        return None
    for start in (text.find(quote, hint), text.find(quote)):
        if start >= 0:
            return start, start + len(quote)
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    match = re.search(pattern, text)
    return match.span() if match else None


def history(session: Session, decisions: list[Decision]) -> list[HistoryLine]:
    names = dict(session.execute(select(Reviewer.id, Reviewer.name)).all())
    ids = [d.id for d in decisions]
    attached: dict[int, list[str]] = {}
    if ids:
        for a in session.scalars(select(Attachment).where(Attachment.decision_id.in_(ids)).order_by(Attachment.id)):
            attached.setdefault(a.decision_id, []).append(a.url or f"{a.filename} ({a.size} bytes)")
    return [HistoryLine(d.id, d.sequence, d.created_at, names.get(d.reviewer_id, "?"), d.round, d.action, d.level,
                        d.reason, tuple(attached.get(d.id, ()))) for d in decisions]
