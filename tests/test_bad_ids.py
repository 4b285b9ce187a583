"""Ids that name no row, are too large for any column or are not numbers at all: a clean 404 or an error
that names the id, on the web and on the command line, on SQLite and PostgreSQL (whose ids are int4)."""

from __future__ import annotations

import pytest
from test_review_web import serving, signed_in, token
from typer.testing import CliRunner

from app.cli import app as cli
from evidence.errors import EvidenceError

HUGE = "99999999999999999999"  # more than any integer column: SQLite raised OverflowError
INT4 = "3000000000"  # fits SQLite's integers, not PostgreSQL's integer: "integer out of range"


@pytest.fixture
def served(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("EVIDENCE_SESSION_SECRET", raising=False)
    yield from serving(database_url, tmp_path / "data")


def test_bad_ids_in_the_web_app_are_not_found(served):
    lead = signed_in(served, "lead")  # the author: nothing is hidden from them, so a 404 means no such row
    for bad in (HUGE, INT4, "9999"):
        for path in (f"/items/{bad}", f"/watch?pass_id={bad}", f"/watch/snapshots/{bad}"):
            reply = lead.get(path)
            assert reply.status_code == 404, (path, reply.status_code, reply.text[:300])
            assert bad in reply.text  # the page names what it did not find
        assert lead.get(f"/log?item={bad}").status_code == 200  # an item without decisions: an empty log
        csrf = token(lead.get("/queue").text)
        decided = lead.post(f"/items/{bad}/decide", data={"csrf_token": csrf, "version": "0", "action": "accept"})
        assert decided.status_code == 404, decided.text[:300]
        closed = lead.post(f"/assignments/{bad}/close", data={"csrf_token": csrf})
        assert closed.status_code == 400 and f"assignment: #{bad}: no such assignment" in closed.text
        assigned = lead.post("/assignments", data={"csrf_token": csrf, "reviewer": bad, "edition": "arab-2024"})
        assert assigned.status_code == 400 and f"no reviewer #{bad}" in assigned.text


def test_ids_that_are_not_numbers_are_named_in_the_answer(served):
    lead = signed_in(served, "lead")
    path = lead.get("/items/abc")
    assert path.status_code == 404 and "Not found" in path.text
    query = lead.get("/watch?pass_id=abc")
    assert query.status_code == 400 and "pass_id" in query.text and "text/html" in query.headers["content-type"]


@pytest.mark.parametrize("args, named", [
    (["watch", "report", "--pass", "999", "--json"], "watch pass: #999: no such pass"),
    (["watch", "report", "--pass", HUGE, "--json"], f"watch pass: #{HUGE}: no such pass"),
    (["watch", "report", "--pass", INT4], f"watch pass: #{INT4}: no such pass"),
    (["documents", "show", HUGE], f"no document '{HUGE}'"),
    (["documents", "show", INT4], f"no document '{INT4}'"),
    (["documents", "show", "²"], "no document '²'"),  # isdigit() yet not int()
    (["documents", "diff", "http://x.example/", "--from", HUGE, "--to", "1"], f"no snapshot {HUGE}"),
])
def test_bad_ids_on_the_command_line_are_errors_that_name_them(database_url, data_dir, args, named):
    env = {"EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(data_dir)}
    result = CliRunner().invoke(cli, args, env=env)
    assert isinstance(result.exception, EvidenceError), result.exception  # `evidence` prints it, exit code 2
    assert named in str(result.exception)


def test_bad_ids_in_review_commands(database_url, data_dir):
    from test_review_record import seed

    seed(database_url)
    env = {"EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(data_dir)}
    runner = CliRunner()
    for bad in (HUGE, INT4):
        shown = runner.invoke(cli, ["review", "show", bad, "--as", "lead"], env=env)
        assert isinstance(shown.exception, EvidenceError) and f"item: #{bad}: no such item" in str(shown.exception)
        closed = runner.invoke(cli, ["review", "unassign", bad, "--as", "lead"], env=env)
        assert isinstance(closed.exception, EvidenceError) and f"#{bad}: no such assignment" in str(closed.exception)
        log = runner.invoke(cli, ["review", "log", "--item", bad, "--json"], env=env)
        assert log.exit_code == 0 and log.stdout.strip() == "[]"
        fetches = runner.invoke(cli, ["documents", "fetches", "--crawl", bad, "--json"], env=env)
        assert fetches.exit_code == 0 and fetches.stdout.strip() == "[]"
