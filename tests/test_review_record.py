"""Review rounds, routing, concurrency, confirmed levels and the audit log, on SQLite and PostgreSQL.

`seed()` writes a small record straight into the database (documents, snapshots, chunks, proposals,
citations, reviewers, assignments); the other review tests import it from here.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import numpy as np
import pytest
from sqlalchemy import select

from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import Chunk, Citation, Decision, Document, Proposal, Reviewer, Snapshot
from review.agreement import agreement, progress
from review.assignments import Forbidden, open_assignment
from review.auth import SignInFailed, add_reviewer, authenticate, hash_password
from review.decisions import Conflict, Refused, audit_log, confirmed_levels, decide
from review.item import load_item, locate
from review.queue import QueueFilter, build_queue

EDITION = "arab-2024"
PASSWORD = "correct horse"
CAIRO_5G = ("أعلنت محافظة القاهرة اكتمال تغطية شبكة الجيل الخامس في جميع أحياء المدينة، "
            "وتخدم الشبكة أكثر من عشرة ملايين مشترك.")
CAIRO_QUOTE = "اكتمال تغطية شبكة الجيل الخامس في جميع أحياء المدينة"
CAIRO_FIBRE = "Cairo's gigabit fibre network now reaches 80 percent of households, the governorate said on Monday."
RIYADH_OLD = "أنشأت أمانة الرياض مركزاً للقيادة والتحكم في حالات الطوارئ مع شبكة استشعار."
RIYADH_NEW = "أنشأت أمانة الرياض مركزاً للقيادة والتحكم في حالات الطوارئ مع شبكة استشعار ونظام استجابة متعدد المستويات."
TUNIS_FR = "La municipalité de Tunis a déployé la fibre optique jusqu'au domicile dans tous les arrondissements."


@dataclass(frozen=True)
class Seeded:
    cairo_5g: int          # llm proposal, level 1; an older offline proposal says 2
    cairo_offline: int
    cairo_fibre: int       # offline, level 2, English evidence, high confidence
    riyadh: int            # its document has a newer, different snapshot
    tunis: int             # French evidence only
    reviewers: dict[str, int]


def _snapshot(s, city: str, language: str, text: str, url: str, when: datetime, document: Document | None = None):
    document = document or Document(city=city)
    s.add(document)
    s.flush()
    snap = Snapshot(document_id=document.id, url=url, raw_sha256=f"{abs(hash(text)):064d}"[:64],
                    text_sha256=f"{abs(hash(text)):064d}"[:64], text=text, language=language, title=url.rsplit("/", 1)[-1],
                    fetched_at=when)
    s.add(snap)
    s.flush()
    chunk = Chunk(id=f"s{snap.id}:0-{len(text)}", snapshot_id=snap.id, start=0, end=len(text), text=text,
                  language=language)
    s.add(chunk)
    s.flush()
    return document, snap, chunk


STATUS_REASON = "«اكتمال» marks completion or a present state"


def _proposal(s, city, indicator, level, method, confidence, chunk, quote, verified=True, snapshot=None,
              status="achieved", **extra):
    p = Proposal(edition=EDITION, city=city, indicator=indicator, level=level, method=method, confidence=confidence,
                 rationale=f"{method} rationale for {city} {indicator}", missing_evidence="satellite internet at scale",
                 input_hash=uuid.uuid4().hex * 2,  # each row its own input (the hash is unique)
                 evidence_chunks=[chunk.id], evidence_snapshots=[snapshot.id] if snapshot else [],
                 **extra)
    p.citations.append(Citation(chunk_id=chunk.id, quote=quote, verified=verified, status=status,
                                status_reason=STATUS_REASON if status == "achieved" else ""))
    s.add(p)
    s.flush()
    return p.id


@cache
def password_hash() -> str:
    """One real Argon2id hash of PASSWORD for every seeded reviewer (hashing costs ~0.4 s each)."""
    return hash_password(PASSWORD)


def seed(database: str) -> Seeded:
    june = datetime(2024, 6, 1, tzinfo=UTC)
    with session_scope(database) as s:
        _, _, c1 = _snapshot(s, "cairo", "ar", CAIRO_5G, "http://127.0.0.1:9/cairo/5g.html", june)
        _, _, c2 = _snapshot(s, "cairo", "en", CAIRO_FIBRE, "http://127.0.0.1:9/cairo/fibre.html", june)
        doc, old, c3 = _snapshot(s, "riyadh", "ar", RIYADH_OLD, "http://127.0.0.1:9/riyadh/emergency.html", june)
        _snapshot(s, "riyadh", "ar", RIYADH_NEW, "http://127.0.0.1:9/riyadh/emergency.html",
                  datetime(2024, 8, 1, tzinfo=UTC), document=doc)
        _, _, c5 = _snapshot(s, "tunis", "fr", TUNIS_FR, "http://127.0.0.1:9/tunis/fibre.html", june)
        offline = _proposal(s, "cairo", "wireless-network", 2, "offline", 0.6, c1, CAIRO_QUOTE)
        llm = _proposal(s, "cairo", "wireless-network", 1, "llm", 0.55, c1, CAIRO_QUOTE, model="test-model")
        fibre = _proposal(s, "cairo", "wired-network", 2, "offline", 0.9, c2, "gigabit fibre network now reaches 80 percent")
        riyadh = _proposal(s, "riyadh", "emergency-system", 1, "llm", 0.8, c3, "مركزاً للقيادة والتحكم", snapshot=old)
        tunis = _proposal(s, "tunis", "wired-network", 1, "llm", 0.7, c5, "la fibre optique jusqu'au domicile")
        people = {name: Reviewer(name=name, role=role, languages=languages, password_hash=password_hash())
                  for name, role, languages in (("lead", "author", ["en", "zh", "ar", "fr"]),
                                                ("amal", "reviewer", ["ar", "en"]), ("basil", "reviewer", ["ar", "en"]),
                                                ("chen", "reviewer", ["zh"]))}
        s.add_all(people.values())
        s.flush()
        for name in ("amal", "basil"):
            open_assignment(s, people[name], EDITION, people["lead"])
        ids = {name: r.id for name, r in people.items()}
    return Seeded(llm, offline, fibre, riyadh, tunis, ids)


def as_(s, name: str) -> Reviewer:
    return s.scalar(select(Reviewer).where(Reviewer.name == name))


@pytest.fixture
def seeded(database_url) -> Seeded:
    return seed(database_url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """For tests whose logic does not touch the backend's concurrency: SQLite alone keeps the suite fast."""
    return f"sqlite:///{tmp_path / 'evidence.db'}"


@pytest.fixture
def lite(sqlite_url) -> Seeded:
    return seed(sqlite_url)


# --- the rounds ---------------------------------------------------------------------------------

def test_change_then_verification_confirms_and_reaches_scoring(database_url, seeded):
    with session_scope(database_url) as s:
        d = decide(s, seeded.cairo_5g, as_(s, "amal"), "change", level=2, reason="5G covers every district", version=0)
        assert (d.round, d.level, d.sequence) == (1, 2, 1)
    assert confirmed_levels(database_url, EDITION) == {}, "round 1 alone confirms nothing"
    with session_scope(database_url) as s:
        d = decide(s, seeded.cairo_5g, as_(s, "basil"), "accept", version=1)
        assert (d.round, d.level) == (2, 2), "an accept in round 2 settles on the round-1 level"
    assert confirmed_levels(database_url, EDITION) == {("cairo", "wireless-network"): 2}


def test_disagreement_goes_to_the_author_whose_verdict_is_final(database_url, seeded):
    with session_scope(database_url) as s:
        decide(s, seeded.cairo_fibre, as_(s, "amal"), "accept")
        decide(s, seeded.cairo_fibre, as_(s, "basil"), "change", level=1, reason="80 percent is not yet at scale")
    assert confirmed_levels(database_url, EDITION) == {}, "rounds 1 and 2 disagree: nothing is confirmed yet"
    with session_scope(database_url) as s, pytest.raises(Forbidden, match="author decides"):
        decide(s, seeded.cairo_fibre, as_(s, "amal"), "accept")
    with session_scope(database_url) as s:
        d = decide(s, seeded.cairo_fibre, as_(s, "lead"), "change", level=2, reason="80 percent of households is scale")
        assert d.round == 3
    assert confirmed_levels(database_url, EDITION) == {("cairo", "wired-network"): 2}


def test_reject_confirms_level_zero(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        decide(s, lite.riyadh, as_(s, "amal"), "reject", reason="a command centre alone is not shown at scale")
        decide(s, lite.riyadh, as_(s, "basil"), "reject")
    assert confirmed_levels(sqlite_url, EDITION) == {("riyadh", "emergency-system"): 0}


def test_round_two_needs_a_different_reviewer_and_bad_decisions_are_refused(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        decide(s, lite.cairo_5g, as_(s, "amal"), "accept")
    with session_scope(sqlite_url) as s, pytest.raises(Refused, match="different reviewer"):
        decide(s, lite.cairo_5g, as_(s, "amal"), "accept")
    with session_scope(sqlite_url) as s:
        with pytest.raises(DataError, match="needs a reason"):
            decide(s, lite.cairo_5g, as_(s, "basil"), "change", level=3)
        with pytest.raises(DataError, match="from 0 to 4"):
            decide(s, lite.cairo_5g, as_(s, "basil"), "change", level=7, reason="x")
        with pytest.raises(Refused, match="superseded by proposal"):
            decide(s, lite.cairo_offline, as_(s, "basil"), "accept")
    with session_scope(sqlite_url) as s:
        assert len(s.scalars(select(Decision)).all()) == 1, "refused decisions leave no row"


def test_a_stale_version_is_a_conflict_and_the_first_decision_stays(database_url, seeded):
    with session_scope(database_url) as s:
        decide(s, seeded.cairo_5g, as_(s, "amal"), "accept", version=0)
    with pytest.raises(Conflict, match="decided by someone else"), session_scope(database_url) as s:
        decide(s, seeded.cairo_5g, as_(s, "basil"), "change", level=3, reason="x", version=0)
    with session_scope(database_url) as s:
        rows = s.scalars(select(Decision)).all()
        assert [(d.reviewer_id, d.action, d.sequence) for d in rows] == [(seeded.reviewers["amal"], "accept", 1)]


def test_simultaneous_decisions_from_one_version_record_exactly_one(database_url, seeded):
    """Threads race past the version check together; the unique sequence lets only one through."""
    barrier, outcomes = threading.Barrier(4), []

    def attempt(name: str):
        try:
            with session_scope(database_url) as s:
                me = as_(s, name)
                barrier.wait()
                decide(s, seeded.cairo_fibre, me, "accept", version=0)
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("amal", "basil", "lead", "amal")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "recorded"]
    with session_scope(database_url) as s:
        assert len(s.scalars(select(Decision).where(Decision.proposal_id == seeded.cairo_fibre)).all()) == 1


# --- routing and the queue ----------------------------------------------------------------------

def test_routing_by_assignment_and_language(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        amal = as_(s, "amal")
        ids = [i.id for i in build_queue(s, amal)]
        assert lite.tunis not in ids, "French evidence is not routed to a reader of Arabic and English"
        assert set(ids) == {lite.cairo_5g, lite.cairo_fibre, lite.riyadh}
        assert lite.cairo_offline not in ids, "a superseded proposal is not an item"
        assert build_queue(s, as_(s, "chen")) == [], "nothing was opened to chen"
        with pytest.raises(Forbidden):
            load_item(s, lite.tunis, amal)
        with pytest.raises(Forbidden):
            load_item(s, lite.cairo_5g, as_(s, "chen"))
        assert {i.id for i in build_queue(s, as_(s, "lead"))} == {lite.cairo_5g, lite.cairo_fibre, lite.riyadh,
                                                                  lite.tunis}


def test_the_queue_puts_doubtful_items_first_and_says_why(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        items = {i.id: i for i in build_queue(s, as_(s, "amal"))}
        order = [i.id for i in build_queue(s, as_(s, "amal"))]
    assert "methods-disagree" in items[lite.cairo_5g].reasons and items[lite.cairo_5g].other_level == 2
    assert "evidence-changed" in items[lite.riyadh].reasons, "a newer snapshot of the cited document exists"
    assert items[lite.cairo_fibre].reasons == () or "methods-disagree" not in items[lite.cairo_fibre].reasons
    assert order[0] == lite.cairo_5g and order[-1] == lite.cairo_fibre
    with session_scope(sqlite_url) as s:
        only = build_queue(s, as_(s, "amal"), QueueFilter(edition=EDITION, city="riyadh"))
        assert [i.id for i in only] == [lite.riyadh]
        assert build_queue(s, as_(s, "amal"), QueueFilter(language="en"))[0].id == lite.cairo_fibre


def test_the_queue_hides_what_the_reviewer_cannot_decide_now(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        decide(s, lite.riyadh, as_(s, "amal"), "accept")
    with session_scope(sqlite_url) as s:
        assert lite.riyadh not in [i.id for i in build_queue(s, as_(s, "amal"))]
        assert lite.riyadh in [i.id for i in build_queue(s, as_(s, "basil"), QueueFilter(status="round-2"))]
        everything = build_queue(s, as_(s, "amal"), QueueFilter(status="all", actionable=False))
        assert lite.riyadh in [i.id for i in everything]


# --- the item, the log, agreement, accounts -------------------------------------------------------

def test_the_item_locates_each_quote_in_its_snapshot(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        view = load_item(s, lite.cairo_5g, as_(s, "amal"), "zh")
    passage = view.passages[0]
    assert passage.found and passage.marked == CAIRO_QUOTE
    assert passage.before + passage.marked + passage.after == CAIRO_5G
    assert passage.url == "http://127.0.0.1:9/cairo/5g.html" and passage.snapshot_date == "2024-06-01"
    assert [r.level for r in view.rungs if r.proposed] == [1] and view.next_rung.level == 2
    assert view.rungs[1].text == "5G/5G-A 网络规模商用"
    assert view.other.level == 2


def test_locate_allows_reflowed_whitespace_only():
    assert locate("gigabit  fibre\nnetwork", "the gigabit fibre network now") == (4, 25)
    assert locate("copper network", "the gigabit fibre network now") is None


def test_audit_log_lists_every_step(database_url, seeded):
    with session_scope(database_url) as s:
        decide(s, seeded.cairo_5g, as_(s, "amal"), "change", level=2, reason="5G everywhere")
        decide(s, seeded.cairo_5g, as_(s, "basil"), "accept")
    steps = None
    with session_scope(database_url) as s:
        steps = audit_log(s, edition=EDITION)
    lines = [(st.who, st.what, st.round, st.level, st.reason) for st in steps]
    assert lines.count(("lead", "assign", None, None, "opened arab-2024 every city every indicator to amal")) == 1
    assert ("amal", "change", 1, 2, "5G everywhere") in lines and ("basil", "accept", 2, 2, "") in lines
    assert len(steps) == 4
    assert [st.at for st in steps] == sorted(st.at for st in steps)


def test_progress_counts_statuses_and_kappa(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        decide(s, lite.cairo_5g, as_(s, "amal"), "change", level=2, reason="5G everywhere")
        decide(s, lite.cairo_5g, as_(s, "basil"), "accept")
        decide(s, lite.cairo_fibre, as_(s, "amal"), "accept")
    with session_scope(sqlite_url) as s:
        state = progress(s, EDITION)
    assert state.by_status == {"round-1": 2, "round-2": 1, "round-3": 0, "confirmed": 1}
    rounds = next(a for a in state.agreements if a.between == "rounds")
    assert rounds.n == 1 and rounds.observed == 1.0
    first = next(a for a in state.agreements if a.between == "proposer-round-1")
    assert first.n == 2 and first.observed == 0.5


def test_kappa_matches_the_textbook_value():
    # the 2x2 example on Wikipedia's Cohen's kappa page: agreement 0.7, chance 0.5 -> kappa 0.4
    a = agreement("x", [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15, [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    assert a.n == 50 and a.observed == pytest.approx(0.7) and a.kappa == pytest.approx(0.4)
    assert agreement("x", [2, 2], [2, 2]).kappa is None, "no variety: kappa is undefined, not 1"


def test_passwords_are_hashed_and_checked(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        amal = as_(s, "amal")
        assert amal.password_hash.startswith("$argon2id$") and PASSWORD not in amal.password_hash
        assert authenticate(s, "amal", PASSWORD).id == amal.id
        with pytest.raises(SignInFailed):
            authenticate(s, "amal", "wrong")
        with pytest.raises(SignInFailed):
            authenticate(s, "nobody", PASSWORD)
        with pytest.raises(DataError, match="already exists"):
            add_reviewer(s, "amal", PASSWORD)
        with pytest.raises(DataError, match="ISO 639-1"):
            add_reviewer(s, "dora", PASSWORD, languages=["arabic"])


def test_only_an_author_opens_items(sqlite_url, lite):
    with session_scope(sqlite_url) as s:
        with pytest.raises(Forbidden, match="only an author"):
            open_assignment(s, as_(s, "chen"), EDITION, as_(s, "amal"))
        with pytest.raises(DataError, match="not a city of edition"):
            open_assignment(s, as_(s, "chen"), EDITION, as_(s, "lead"), city="shanghai")


def test_scoring_reads_the_levels_the_review_confirmed(sqlite_url, lite):
    """Scoring reads confirmed levels through this module: both give the same levels."""
    from frameworks import load_framework
    from scoring.levels import edition_cities, levels_from_database
    from sources import load_registry

    with session_scope(sqlite_url) as s:
        decide(s, lite.cairo_5g, as_(s, "amal"), "change", level=2, reason="5G everywhere")
        decide(s, lite.cairo_5g, as_(s, "basil"), "accept")
        decide(s, lite.riyadh, as_(s, "amal"), "reject", reason="one command centre, not a system")
        decide(s, lite.riyadh, as_(s, "basil"), "reject")
    ours = confirmed_levels(sqlite_url, EDITION)
    assert ours == {("cairo", "wireless-network"): 2, ("riyadh", "emergency-system"): 0}
    registry, edition = load_registry(), load_framework(EDITION)
    table = levels_from_database(sqlite_url, edition, edition_cities(registry, edition), registry)
    scored = {(table.cities[r].id, table.indicators[c]): int(table.values[r, c])
              for r, c in zip(*(~np.isnan(table.values)).nonzero())}
    assert scored == ours
