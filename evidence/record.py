"""The record: what the pipeline stores, as SQLAlchemy 2 models (schema changes go through Alembic).

Cities, editions and indicators live in data files (registry, frameworks) and are referred to here
by their ids. Snapshots and decisions are append-only: a change is a new row, never an update.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


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
    depth: Mapped[int | None] = mapped_column(Integer)  # the source's own link depth (None: its kind's default)
    pages: Mapped[int | None] = mapped_column(Integer)  # the source's own page budget per run (None: the run's)
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
    # the snapshot its last successful fetch matched, and the in-scope links it had: a 304 or a resumed
    # crawl follows these without downloading the page again
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    links: Mapped[list] = mapped_column(default=list)


class Document(Base):
    """A piece of content, possibly reachable at several URLs (pages point here)."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    snapshots: Mapped[list[Snapshot]] = relationship(back_populates="document", order_by="Snapshot.fetched_at")


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


class Crawl(Base):
    """One crawl run over a scope (edition, cities, sources); a killed or paused run is resumed, not redone."""

    __tablename__ = "crawls"
    id: Mapped[int] = mapped_column(primary_key=True)
    edition: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(64), index=True)  # hash of the (city, source URL) pairs
    cities: Mapped[list] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running | paused | finished
    pid: Mapped[int | None]
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]


class Fetch(Base):
    """Every attempt to fetch a URL, including failures: failures are data."""

    __tablename__ = "fetches"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), index=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(default=now)
    status: Mapped[int | None]
    # new-snapshot | unchanged | duplicate (same text as another URL's document) | not-modified |
    # redirected | failed | refused
    outcome: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    crawl_id: Mapped[int | None] = mapped_column(ForeignKey("crawls.id"), index=True)


class Chunk(Base):
    """A passage of a snapshot, with character offsets so a citation can be highlighted in its page."""

    __tablename__ = "chunks"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # derived from snapshot id and offsets
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    start: Mapped[int]
    end: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10))
    section: Mapped[list] = mapped_column(default=list)  # the headings it sits under, the outermost first


class LexicalChunk(Base):
    """A chunk as the lexical index holds it: its ICU tokens, space-joined, and the fields filters need.

    The database's own full-text search indexes `terms` (SQLite FTS5 `lexical_fts`, PostgreSQL a tsvector
    column with a GIN index: both made by migration 0010, outside these models, see FULL_TEXT_OBJECTS)."""

    __tablename__ = "lexical_chunks"
    id: Mapped[int] = mapped_column(primary_key=True)  # the FTS5 rowid
    chunk_id: Mapped[str] = mapped_column(ForeignKey("chunks.id"), unique=True)
    snapshot_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    city: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(10))
    date: Mapped[int] = mapped_column(Integer)  # published (or fetched) on, as YYYYMMDD
    latest: Mapped[bool] = mapped_column(Boolean)  # of its document's newest snapshot
    length: Mapped[int] = mapped_column(Integer)  # tokens
    terms: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_lexical_chunks_city_latest", "city", "latest"),)


class LexicalTerm(Base):
    """How many chunks hold a term, and how often it occurs (BM25's statistics, kept as chunks are added).
    The empty term stands for every chunk: its counts are the number of chunks and of their tokens."""

    __tablename__ = "lexical_terms"
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    chunks: Mapped[int] = mapped_column(BigInteger)
    tokens: Mapped[int] = mapped_column(BigInteger)


class IndexedSnapshot(Base):
    """A snapshot claimed for embedding with one model, then done: two `evidence index` runs (on one machine
    or several) never embed the same snapshot, and a claim not renewed within the lease is taken over."""

    __tablename__ = "indexed_snapshots"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    claimant: Mapped[str] = mapped_column(String(120))
    claimed_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class RecordIdentity(Base):
    """One row: a random id made when the record was created. Services shared by several records (a Chroma
    server) keep each record's data apart by it."""

    __tablename__ = "record_identity"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)


# made by migration 0010 with the database's own DDL (no model can describe them): schema comparisons skip them
FULL_TEXT_OBJECTS = frozenset({"lexical_fts", "lexical_fts_data", "lexical_fts_idx", "lexical_fts_docsize",
                               "lexical_fts_config", "lexical_fts_content", "tsv", "ix_lexical_chunks_tsv"})


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
    # the offline proposer's reasons as data (review.proposer.offline.facts), worded per language when shown
    rationale_facts: Mapped[dict | None]
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    missing_evidence: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list] = mapped_column(default=list)
    evidence_chunks: Mapped[list] = mapped_column(default=list)
    evidence_snapshots: Mapped[list] = mapped_column(default=list)
    # one proposal per input: two runs asking the same question the same way make one row (INSERT … ON CONFLICT)
    input_hash: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)
    citations: Mapped[list[Citation]] = relationship(back_populates="proposal")


class Citation(Base):
    __tablename__ = "citations"
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    chunk_id: Mapped[str] = mapped_column(String(80))
    quote: Mapped[str] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)  # the quote was found verbatim in its chunk
    status: Mapped[str | None] = mapped_column(String(20))  # achieved | under-way | planned (None: made before)
    status_reason: Mapped[str] = mapped_column(Text, default="")  # what in the text or its section says so
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
    disabled_at: Mapped[datetime | None]  # `evidence reviewers disable`: cannot sign in, every session ended


class ReviewSession(Base):
    """A signed-in browser: the cookie carries a random token, this row its SHA-256. Signing out, a password
    change, `evidence reviewers disable` or `signout` end it; an ended or expired row signs nobody in."""

    __tablename__ = "review_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's token
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))  # the client's address at sign-in
    ended_at: Mapped[datetime | None]
    ended_why: Mapped[str | None] = mapped_column(String(40))  # signed-out | password-changed | disabled | revoked


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
    # place in its proposal's history (1, 2, ...): unique, so of two people deciding from the same
    # version only one is recorded and the other is told (review.decisions)
    sequence: Mapped[int | None]
    # SHA-256 over the previous decision's digest and this one's content (evidence.chain): an edit by hand shows
    digest: Mapped[str | None] = mapped_column(String(64))
    # an `undo` decision names the verdict it takes back (the item's last one); the rounds replay without both
    undoes: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", name="fk_decisions_undoes"))
    __table_args__ = (UniqueConstraint("proposal_id", "sequence", name="uq_decisions_proposal_id_sequence"),)


class DecisionDraft(Base):
    """A decision typed in a browser whose session had ended: kept (the cookie carries the random token, this
    row its SHA-256) and finished when the same reviewer signs in again."""

    __tablename__ = "decision_drafts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    fields: Mapped[dict]  # action, level, reason, url, version as typed
    created_at: Mapped[datetime] = mapped_column(default=now)


class Assignment(Base):
    """The author opening items to a reviewer: an edition, optionally narrowed to a city and an indicator."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"), index=True)
    edition: Mapped[str] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(80))  # None: every city
    indicator: Mapped[str | None] = mapped_column(String(80))  # None: every indicator
    opened_by: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))
    opened_at: Mapped[datetime] = mapped_column(default=now)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("reviewers.id"))
    closed_at: Mapped[datetime | None]


class Attachment(Base):
    """Evidence attached by an `attach` decision: a URL to crawl or an uploaded file, kept for re-review."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # url | file
    url: Mapped[str | None] = mapped_column(String(2000))
    filename: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(String(64))  # the file's bytes, stored by hash in the data dir
    size: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending | collected | failed
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))  # what collecting it gave
    reason: Mapped[str | None] = mapped_column(Text)  # why it could not be collected
    collected_at: Mapped[datetime | None]
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))  # the item it went back to review as


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


class WatchPass(Base):
    """One `evidence watch` pass: which step it reached, so a pass that died resumes rather than restarts."""

    __tablename__ = "watch_passes"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running | finished
    step: Mapped[str] = mapped_column(String(20), default="crawl")  # crawl | classify | consequences | notify | done
    sources: Mapped[list] = mapped_column(default=list)  # source row ids this pass re-fetches
    crawls: Mapped[list] = mapped_column(default=list)  # crawl run ids it made
    flagged: Mapped[list] = mapped_column(default=list)  # cities with a substantive change
    notified: Mapped[dict] = mapped_column(default=dict)  # channel -> outcome
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]


class WatchLock(Base):
    """At most one row per data set: the pass holding it; a dead holder's row is taken over."""

    __tablename__ = "watch_locks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    pass_id: Mapped[int | None]
    pid: Mapped[int]
    host: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=now)
    heartbeat_at: Mapped[datetime] = mapped_column(default=now)


class WatchChange(Base):
    """A changed snapshot against its predecessor at the same URL (none: a new document), as classified."""

    __tablename__ = "watch_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("watch_passes.id"), index=True)
    city: Mapped[str] = mapped_column(String(80), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    old_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    new_snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    kind: Mapped[str] = mapped_column(String(20))  # cosmetic | substantive
    added: Mapped[list] = mapped_column(default=list)  # paragraphs added (text)
    removed: Mapped[list] = mapped_column(default=list)
    cosmetic: Mapped[list] = mapped_column(default=list)  # [old line, new line] pairs that differ only cosmetically
    indicators: Mapped[list] = mapped_column(default=list)  # [edition, indicator] pairs it bears on
    __table_args__ = (UniqueConstraint("pass_id", "new_snapshot_id", "url"),)


class WatchRequeue(Base):
    """A city and indicator sent back to review by a pass: the proposal made stale and the one made instead."""

    __tablename__ = "watch_requeues"
    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("watch_passes.id"), index=True)
    edition: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(80))
    indicator: Mapped[str] = mapped_column(String(80))
    old_proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    new_proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    old_level: Mapped[int | None]
    new_level: Mapped[int | None]
    changes: Mapped[list] = mapped_column(default=list)  # WatchChange ids behind it
    __table_args__ = (UniqueConstraint("pass_id", "edition", "city", "indicator"),)


class DecisionChain(Base):
    """The head of the decisions' hash chain (evidence.chain): the last decision chained and its digest.

    Every decision updates it in its own transaction, which also serialises decisions, so the chain never
    forks; a log whose newest decision is older than the head has lost its newest rows."""

    __tablename__ = "decision_chain"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int | None]
    digest: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(Integer, default=0)


class Candidate(Base):
    """A URL discovery found for a city (`evidence discover`), with the query that found it, until the author
    accepts it into the city's sources (or leaves it)."""

    __tablename__ = "discovery_candidates"
    id: Mapped[int] = mapped_column(primary_key=True)
    edition: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(80), index=True)
    indicator: Mapped[str | None] = mapped_column(String(80))  # None: found by a sitemap or a feed
    level: Mapped[int | None]  # the rung whose text the query asked for
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(Text)
    snippet: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(20))  # searxng | brave | sitemap | feed
    query: Mapped[str] = mapped_column(Text)  # the search query, or the sitemap / page the feed was found on
    found_at: Mapped[datetime] = mapped_column(default=now)
    state: Mapped[str] = mapped_column(String(20), default="new")  # new | accepted
    __table_args__ = (UniqueConstraint("city", "url"),)


class ProposalClaim(Base):
    """An input hash a proposer is working on: a second run waits for that proposal instead of paying the LLM
    again. A claim older than its run's timeout is taken over (its holder died)."""

    __tablename__ = "proposal_claims"
    input_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(default=now)


class Job(Base):
    """One task of a distributed run (`--distributed`): a city's crawl, an embedding batch, a question, a watch
    step. The row is the progress table the enqueuing command shows, and a redelivered task's memory."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(40), index=True)  # one enqueuing command
    kind: Mapped[str] = mapped_column(String(20))  # crawl | index | propose | watch
    key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("batch", "key"),)
