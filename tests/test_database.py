"""The record on both backends: migrations build the schema the models describe, and rows round-trip."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from evidence.database import current_revision, head_revision, open_engine, session_scope
from evidence.record import (
    FULL_TEXT_OBJECTS,
    Base,
    Citation,
    Decision,
    Document,
    Fetch,
    Page,
    Proposal,
    Reviewer,
    Snapshot,
)


def test_migrations_reach_head_and_match_the_models(database_url):
    engine = open_engine(database_url)
    assert current_revision(engine) == head_revision(database_url)
    with engine.connect() as conn:
        skip_full_text = {"include_name": lambda name, *_: name not in FULL_TEXT_OBJECTS}
        diff = compare_metadata(MigrationContext.configure(conn, opts=skip_full_text), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_snapshot_proposal_and_decision_round_trip(database_url):
    with session_scope(database_url) as s:
        doc = Document(city="cairo")
        s.add(doc)
        s.flush()
        snap = Snapshot(document_id=doc.id, url="http://127.0.0.1/x.html", raw_sha256="a" * 64,
                        text_sha256="b" * 64, text="الجيل الخامس", language="ar", meta={"title": "٥G"})
        s.add_all([snap, Page(url="http://127.0.0.1/x.html", city="cairo", document_id=doc.id)])
        s.flush()
        s.add(Fetch(url=snap.url, city="cairo", status=200, outcome="new-snapshot", snapshot_id=snap.id))
        proposal = Proposal(edition="arab-2024", city="cairo", indicator="wireless-network", level=2,
                            method="offline", input_hash="c" * 64, flags=["low-confidence"])
        proposal.citations.append(Citation(chunk_id="s1:0-120", quote="الجيل الخامس", verified=True))
        reviewer = Reviewer(name="amal", role="reviewer", languages=["ar", "en"])
        s.add_all([proposal, reviewer])
        s.flush()
        s.add(Decision(proposal_id=proposal.id, reviewer_id=reviewer.id, round=1, action="accept", level=2))

    with session_scope(database_url) as s:
        proposal = s.scalars(select(Proposal)).one()
        assert proposal.flags == ["low-confidence"]
        assert proposal.citations[0].quote == "الجيل الخامس"
        assert s.scalars(select(Snapshot)).one().meta == {"title": "٥G"}
        assert s.scalars(select(Decision)).one().level == 2
        assert s.scalars(select(Reviewer)).one().languages == ["ar", "en"]


def test_a_failed_unit_of_work_leaves_nothing_behind(database_url):
    try:
        with session_scope(database_url) as s:
            s.add(Document(city="moscow"))
            s.flush()
            raise RuntimeError("crawl died")
    except RuntimeError:
        pass
    with session_scope(database_url) as s:
        assert s.scalars(select(Document)).all() == []
