"""The decisions' hash chain on SQLite and PostgreSQL: decisions made by the program verify; a row edited,
removed or added directly in the database is found by `evidence review log --verify`, naming the decision."""

from __future__ import annotations

import json
import threading

from sqlalchemy import func, select, text
from test_review_record import as_, seed
from typer.testing import CliRunner

from app.cli import app as cli
from evidence.database import session_scope
from evidence.record import Decision
from review.attachments import url_evidence
from review.decisions import decide, verify_chain


def verified(database_url: str, data_dir) -> tuple[int, dict]:
    env = {"EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(data_dir)}
    result = CliRunner().invoke(cli, ["review", "log", "--verify", "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def decided(database_url: str) -> list[int]:
    seeded = seed(database_url)
    with session_scope(database_url) as s:
        ids = [decide(s, seeded.cairo_5g, as_(s, "amal"), "change", level=2, reason="5G in every district").id,
               decide(s, seeded.cairo_fibre, as_(s, "amal"), "attach",
                      evidence=[url_evidence("https://cairo.gov.eg/fibre")]).id,
               decide(s, seeded.cairo_5g, as_(s, "basil"), "accept").id,
               decide(s, seeded.riyadh, as_(s, "basil"), "reject", reason="no system at scale").id]
    return ids


def edit(database_url: str, statement: str, **params) -> None:
    with session_scope(database_url) as s:
        s.execute(text(statement), params)


def test_decisions_made_by_the_program_verify(database_url, data_dir):
    ids = decided(database_url)
    code, report = verified(database_url, data_dir)
    assert code == 0 and report["intact"] and report["decisions"] == len(ids) and report["problems"] == []
    with session_scope(database_url) as s:
        assert report["head"] == s.get(Decision, ids[-1]).digest


def test_a_decision_edited_in_the_database_is_found(database_url, data_dir):
    ids = decided(database_url)
    edit(database_url, "UPDATE decisions SET level = 4 WHERE id = :id", id=ids[0])
    code, report = verified(database_url, data_dir)
    assert code == 1 and not report["intact"]
    assert [p["decision"] for p in report["problems"]] == [ids[0]]  # only the row edited
    assert "edited by hand" in report["problems"][0]["problem"]
    edit(database_url, "UPDATE decisions SET level = 2 WHERE id = :id", id=ids[0])  # put back as it was
    assert verified(database_url, data_dir)[0] == 0
    edit(database_url, "UPDATE attachments SET url = 'https://elsewhere.example/' WHERE decision_id = :id", id=ids[1])
    assert [p["decision"] for p in verified(database_url, data_dir)[1]["problems"]] == [ids[1]]


def test_a_decision_removed_from_the_middle_is_found(database_url, data_dir):
    ids = decided(database_url)
    edit(database_url, "DELETE FROM decisions WHERE id = :id", id=ids[2])
    problems = verified(database_url, data_dir)[1]["problems"]
    assert ids[3] in [p["decision"] for p in problems]  # the one after it no longer follows
    assert any("3 decisions in the table, 4 chained" in p["problem"] for p in problems)


def test_the_newest_decision_removed_is_found_against_the_head(database_url, data_dir):
    ids = decided(database_url)
    edit(database_url, "DELETE FROM decisions WHERE id = :id", id=ids[3])  # the newest: only the head knows
    problems = verified(database_url, data_dir)[1]["problems"]
    assert any(f"head is decision #{ids[3]} but the newest decision is #{ids[2]}" in p["problem"] for p in problems)


def test_a_row_slipped_in_by_hand_is_not_chained(database_url, data_dir):
    ids = decided(database_url)
    with session_scope(database_url) as s:
        proposal, reviewer = s.get(Decision, ids[0]).proposal_id, s.get(Decision, ids[0]).reviewer_id
    edit(database_url, "INSERT INTO decisions (proposal_id, reviewer_id, round, action, level, reason, created_at, "
                       "sequence) VALUES (:p, :r, 1, 'change', 4, 'by hand', CURRENT_TIMESTAMP, 99)", p=proposal, r=reviewer)
    code, report = verified(database_url, data_dir)
    assert code == 1 and any("not chained" in p["problem"] for p in report["problems"])


def test_simultaneous_decisions_on_different_items_keep_one_chain(database_url):
    """Without the head's lock two decisions would chain to the same predecessor and the chain would fork."""
    seeded = seed(database_url)
    items = [(seeded.cairo_5g, "amal"), (seeded.cairo_fibre, "basil"), (seeded.riyadh, "amal"), (seeded.tunis, "lead")]
    barrier, failures = threading.Barrier(len(items)), []

    def attempt(item: int, name: str):
        try:
            with session_scope(database_url) as s:
                me = as_(s, name)
                barrier.wait()
                decide(s, item, me, "accept", version=0)
        except Exception as e:
            failures.append(repr(e))

    threads = [threading.Thread(target=attempt, args=pair) for pair in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with session_scope(database_url) as s:
        assert s.scalar(select(func.count(Decision.id))) == len(items)
        check = verify_chain(s)
    assert check.intact, check.problems
