"""The record: what the pipeline stores, as SQLAlchemy 2 models (schema changes go through Alembic).

Cities, editions and indicators live in data files (registry, frameworks) and are referred to here
by their ids. Snapshots and decisions are append-only: a change is a new row, never an update.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class SourceRow(Base):
    """A registry source as crawled: the registry is the truth, this row carries crawl state."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(20), default="portal")
    allowed_domains: Mapped[list] = mapped_column(default=list)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule: Mapped[str] = mapped_column(String(20), default="7d")
    last_crawled_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("city", "url"),)


class Page(Base):
    """One URL: its conditional-fetch validators and the outcome of its last fetch."""

    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    city: Mapped[str] = mapped_column(String(80), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_status: Mapped[int | None]
    last_outcome: Mapped[str | None] = mapped_column(String(30))
    last_reason: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None]


class Document(Base):
    """A piece of content, possibly reachable at several URLs (pages point here)."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    snapshots: Mapped[list["Snapshot"]] = relationship(back_populates="document", order_by="Snapshot.fetched_at")


class Snapshot(Base):
    """An immutable version of a document's extracted text; raw bytes are stored by their hash."""

    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    fetched_at: Mapped[datetime] = mapped_column(default=now)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    text_sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str | None] = mapped_column(String(100))
    charset: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict] = mapped_column(default=dict)
    document: Mapped[Document] = relationship(back_populates="snapshots")


class Fetch(Base):
    """Every attempt to fetch a URL, including failures: failures are data."""

    __tablename__ = "fetches"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), index=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(default=now)
    status: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(30))  # new-snapshot | unchanged | not-modified | failed | refused
    reason: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))


class Chunk(Base):
    """A passage of a snapshot, with character offsets so a citation can be highlighted in its page."""

    __tablename__ = "chunks"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # derived from snapshot id and offsets
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    start: Mapped[int]
    end: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10))
    embedding_model: Mapped[str | None] = mapped_column(String(80))


class Proposal(Base):
    """A proposed ladder level for one city and indicator, with how it was made and what it cost."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    edition: Mapped[str] = mapped_column(String(40), index=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    indicator: Mapped[str] = mapped_column(String(80))
    level: Mapped[int]
    method: Mapped[str] = mapped_column(String(20))  # llm | offline
    model: Mapped[str | None] = mapped_column(String(120))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    rationale: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    missing_evidence: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list] = mapped_column(default=list)
    evidence_chunks: Mapped[list] = mapped_column(default=list)
    evidence_snapshots: Mapped[list] = mapped_column(default=list)
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)
    citations: Mapped[list["Citation"]] = relationship(back_populates="proposal")


class Citation(Base):
    __tablename__ = "citations"
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    chunk_id: Mapped[str] = mapped_column(String(80))
    quote: Mapped[str] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    proposal: Mapped[Proposal] = relationship(back_populates="citations")


class Reviewer(Base):
    __tablename__ = "reviewers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="reviewer")  # reviewer | author
    languages: Mapped[list] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Decision(Base):
    """A reviewer's decision on a proposal; append-only, so the table is the audit log."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))
    round: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))  # accept | change | reject | attach
    level: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)


class Score(Base):
    """A published score row: one city in one scoring run of an edition."""

    __tablename__ = "scores"
    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[str] = mapped_column(String(80), index=True)
    edition: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(80))
    total: Mapped[float]
    areas: Mapped[dict] = mapped_column(default=dict)
    rank: Mapped[int]
    tier: Mapped[int | None]
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
