"""A pass's consequences: its changed snapshots classified, and each affected city and indicator sent
back to review (current proposal stale, a new proposal made, the change recorded beside it)."""

from __future__ import annotations

from sqlalchemy import select

from collector.documents import url_history
from collector.runs import editions_of
from evidence.database import session_scope
from evidence.record import Document, Fetch, Proposal, Snapshot, WatchChange, WatchRequeue
from evidence.settings import Settings
from frameworks import load_framework
from review.decisions import current_proposals, states
from review.submissions import repropose
from sources import load_registry
from vectorstore.index import latest_snapshots
from watch.changes import ChangedText, candidates, classify, in_evidence, known_lines, spans
from watch.report import pass_row


def classify_pass(settings: Settings, pass_id: int) -> None:
    """Record a WatchChange for every new snapshot the pass's crawls made, then match substantive ones
    to indicators; the cities with a substantive change bearing on an indicator are flagged."""
    with session_scope(settings.database) as s:
        row = pass_row(s, pass_id)
        fetches = s.scalars(select(Fetch).where(Fetch.crawl_id.in_(row.crawls), Fetch.outcome == "new-snapshot")
                            .order_by(Fetch.id)).all()
        done = {(c.new_snapshot_id, c.url) for c in s.scalars(select(WatchChange).where(WatchChange.pass_id == pass_id))}
        fresh = {f.snapshot_id for f in fetches if f.snapshot_id is not None}  # every new-snapshot fetch has one
        corpus: dict[str, tuple[set[str], dict[int, str]]] = {}
        for fetch in fetches:
            if (fetch.snapshot_id, fetch.url) in done:
                continue
            if fetch.city not in corpus:
                corpus[fetch.city] = _city_lines(s, fetch.city, fresh)
            s.add(_change(s, pass_id, fetch, *corpus[fetch.city]))
    _match(settings, pass_id)


def _city_lines(session, city: str, fresh: set[int]) -> tuple[set[str], dict[int, str]]:
    """The line keys the city's pages had before the pass, and the texts of its latest snapshots now."""
    rows = session.execute(select(Snapshot.id, Snapshot.text).join(Document, Snapshot.document_id == Document.id)
                           .where(Document.city == city)).all()
    latest = set(latest_snapshots(session).values())
    return known_lines([text for sid, text in rows if sid not in fresh]), \
        {sid: text for sid, text in rows if sid in latest}


def _change(session, pass_id: int, fetch: Fetch, before: set[str], now_shown: dict[int, str]) -> WatchChange:
    history = url_history(session, fetch.url)
    ids = [snap.id for snap in history]
    at = ids.index(fetch.snapshot_id) if fetch.snapshot_id in ids else len(ids)
    old = history[at - 1] if at > 0 else None
    new = session.get(Snapshot, fetch.snapshot_id)
    after = known_lines([text for sid, text in now_shown.items() if sid != new.id])
    found = classify(old.text if old else None, new.text, before, after)
    kind = "recovered" if old is None and _failed_before(session, fetch) else found.kind
    return WatchChange(pass_id=pass_id, city=fetch.city, url=fetch.url, old_snapshot_id=old.id if old else None,
                       new_snapshot_id=new.id, kind=kind, added=found.added, removed=found.removed,
                       cosmetic=found.cosmetic)


def _failed_before(session, fetch: Fetch) -> bool:
    """Did the URL fail earlier with an answer that says it existed (a 5xx, a timeout; not a 404)? Its first
    text is then what it always said, not news: `recovered`, never flagged (it was a false alarm)."""
    return session.scalars(select(Fetch.id).where(
        Fetch.url == fetch.url, Fetch.id < fetch.id, Fetch.outcome.in_(("failed", "lost")),
        Fetch.status.is_(None) | Fetch.status.not_in((404, 410)))).first() is not None


def _match(settings: Settings, pass_id: int) -> None:
    registry = load_registry()
    with session_scope(settings.database) as s:
        changes = s.scalars(select(WatchChange).where(WatchChange.pass_id == pass_id,
                                                      WatchChange.kind == "substantive")).all()
        editions = _editions(s, {c.city for c in changes})
        texts = {snap.id: snap.text for snap in s.scalars(select(Snapshot).where(Snapshot.id.in_(
            {c.new_snapshot_id for c in changes} | {c.old_snapshot_id for c in changes if c.old_snapshot_id})))}
        flagged = set()
        for change in changes:
            city = registry.get(change.city)
            found = []
            for edition_id in editions.get(change.city, []):
                indicators = list(load_framework(edition_id).indicators)
                for indicator in candidates(settings, city, indicators, change.added + change.removed):
                    if in_evidence(settings, edition_id, city, indicator, _changed_text(change, texts)):
                        found.append([edition_id, indicator.id])
            change.indicators = found
            if found:
                flagged.add(change.city)
        pass_row(s, pass_id).flagged = sorted(flagged)


def _changed_text(change: WatchChange, texts: dict[int, str]) -> list[ChangedText]:
    out = [ChangedText(change.new_snapshot_id, tuple(spans(texts[change.new_snapshot_id], change.added)))]
    if change.old_snapshot_id and change.removed:
        out.append(ChangedText(change.old_snapshot_id, tuple(spans(texts[change.old_snapshot_id], change.removed))))
    return out


def _editions(session, cities: set[str]) -> dict[str, list[str]]:
    """Editions to re-propose a city in: those it has proposals in, else the one it was crawled for."""
    out: dict[str, list[str]] = {}
    for edition, city in session.execute(select(Proposal.edition, Proposal.city).where(Proposal.city.in_(cities))
                                         .distinct()):
        out.setdefault(city, []).append(edition)
    for city, edition in editions_of(session, cities - set(out)).items():
        out[city] = [edition]
    return {city: sorted(e) for city, e in out.items()}


def requeue_pass(settings: Settings, pass_id: int) -> None:
    """For each (edition, city, indicator) a change bears on: stale the current proposal, propose again,
    record old and new beside the changes (items already re-queued by this pass are skipped: resumable)."""
    with session_scope(settings.database) as s:
        affected: dict[tuple[str, str, str], list[int]] = {}
        for c in s.scalars(select(WatchChange).where(WatchChange.pass_id == pass_id).order_by(WatchChange.id)):
            for edition, indicator in c.indicators:
                affected.setdefault((edition, c.city, indicator), []).append(c.id)
        done = {(r.edition, r.city, r.indicator) for r in
                s.scalars(select(WatchRequeue).where(WatchRequeue.pass_id == pass_id))}
    for key, change_ids in sorted(affected.items()):
        if key not in done:
            _requeue(settings, pass_id, key, change_ids)


def _requeue(settings: Settings, pass_id: int, key: tuple[str, str, str], change_ids: list[int]) -> None:
    edition, city, indicator = key
    with session_scope(settings.database) as s:
        old = current_proposals(s, edition).get(key)
        # the level of record: what reviewers put on the table, else what was proposed
        old_id, old_level = (old.id, states(s, [old])[old.id].on_table) if old else (None, None)
    outcome = repropose(settings, edition, city, indicator)
    with session_scope(settings.database) as s:
        s.add(WatchRequeue(pass_id=pass_id, edition=edition, city=city, indicator=indicator, old_proposal_id=old_id,
                           new_proposal_id=outcome.proposal_id, old_level=old_level, new_level=outcome.level,
                           changes=change_ids))
