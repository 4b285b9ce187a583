"""CLI parity: `evidence reviewers`, `evidence review list|show|decide|assign|log|confirmed`, `evidence serve
--dry-run`, on both backends, with the same rules as the web app."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_review_record import CAIRO_QUOTE, EDITION, PASSWORD, seed
from typer.testing import CliRunner

from app.cli import app
from review.decisions import Conflict

runner = CliRunner()


@pytest.fixture
def record(database_url, data_dir, monkeypatch):
    monkeypatch.setenv("EVIDENCE_DATABASE_URL", database_url)
    return seed(database_url)


@pytest.fixture
def sqlite_url(data_dir):
    return f"sqlite:///{data_dir.parent / 'evidence.db'}"


@pytest.fixture
def lite(sqlite_url, monkeypatch):
    """SQLite only, for commands whose behaviour does not depend on the backend."""
    monkeypatch.setenv("EVIDENCE_DATABASE_URL", sqlite_url)
    return seed(sqlite_url)


def run(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


def as_json(*args: str):
    return json.loads(run(*args, "--json").stdout)


def test_reviewers_are_added_and_listed_with_their_assignments(record):
    run("reviewers", "add", "dora", "--languages", "fr,ar", "--password", PASSWORD)
    again = run("reviewers", "add", "dora", "--languages", "fr,ar", "--password", PASSWORD, ok=False)
    assert "already exists" in str(again.exception)
    assert "left unchanged" in run("reviewers", "add", "dora", "--password", "other", "--exist-ok").stdout
    for _ in range(2):  # opening the same scope twice opens it once
        run("review", "assign", "--as", "lead", "--reviewer", "dora", "--edition", EDITION, "--city", "tunis")
    listed = {r["name"]: r for r in as_json("reviewers", "list")}
    assert listed["dora"]["languages"] == ["fr", "ar"] and listed["dora"]["assignments"] == ["arab-2024 tunis"]
    assert listed["lead"]["role"] == "author"
    queue = as_json("review", "list", "--as", "dora")
    assert [i["id"] for i in queue] == [record.tunis], "dora reads French and was opened Tunis"
    refused = run("review", "assign", "--as", "amal", "--reviewer", "dora", "--edition", EDITION, ok=False)
    assert "only an author" in str(refused.exception)


def test_list_show_decide_confirmed_and_log_match_the_web_rules(record):
    queue = as_json("review", "list", "--as", "amal", "--edition", EDITION)
    assert queue[0]["id"] == record.cairo_5g and "methods-disagree" in queue[0]["reasons"]
    shown = as_json("review", "show", str(record.cairo_5g), "--as", "amal")
    assert f"[[{CAIRO_QUOTE}]]" in shown["citations"][0]["context"]
    assert shown["version"] == 0 and shown["status"] == "round-1" and shown["other"]["level"] == 2
    decided = as_json("review", "decide", str(record.cairo_5g), "--as", "amal", "--action", "change", "--level", "2",
                      "--reason", "5G in every district", "--version", "0")
    assert (decided["round"], decided["level"], decided["version"]) == (1, 2, 1)
    assert as_json("review", "confirmed", "--edition", EDITION) == []
    as_json("review", "decide", str(record.cairo_5g), "--as", "basil", "--action", "accept", "--version", "1",
            "--reason", "[/]")  # rich markup in a reason is printed as typed, not interpreted
    assert "[/]" in run("review", "log").stdout and "5G in every district" in run("review", "show", str(record.cairo_5g),
                                                                                  "--as", "amal").stdout
    confirmed = as_json("review", "confirmed", "--edition", EDITION)
    assert [(c["city"], c["indicator"], c["level"]) for c in confirmed] == [("cairo", "wireless-network", 2)]
    log = as_json("review", "log", "--item", str(record.cairo_5g))
    assert [(s["who"], s["what"], s["round"], s["level"], s["reason"]) for s in log] == [
        ("amal", "change", 1, 2, "5G in every district"), ("basil", "accept", 2, 2, "[/]")]


def test_a_stale_version_and_an_unrouted_item_are_refused(record):
    run("review", "decide", str(record.riyadh), "--as", "amal", "--action", "accept", "--version", "0")
    stale = run("review", "decide", str(record.riyadh), "--as", "basil", "--action", "reject", "--version", "0", ok=False)
    assert isinstance(stale.exception, Conflict)
    unrouted = run("review", "show", str(record.tunis), "--as", "amal", ok=False)
    assert "not routed to amal" in str(unrouted.exception)


def test_attach_from_the_command_line_stores_the_file(lite, data_dir, tmp_path):
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4 city feedback")
    run("review", "decide", str(lite.cairo_fibre), "--as", "amal", "--action", "attach", "--file", str(letter),
        "--url", "https://example.org/fibre-2024")
    log = as_json("review", "log", "--item", str(lite.cairo_fibre))
    assert log[0]["what"] == "attach" and log[0]["evidence"][0] == "https://example.org/fibre-2024"
    assert log[0]["evidence"][1].startswith("file letter.pdf")
    assert len(list((data_dir / "attachments").iterdir())) == 1
    bad = run("review", "decide", str(lite.cairo_fibre), "--as", "amal", "--action", "attach", "--url", "ftp://x", ok=False)
    assert "not an http(s) URL" in str(bad.exception)


def test_the_installed_command_exits_2_with_the_conflict_and_serve_says_how_to_open_the_app(lite, sqlite_url):
    env = {**os.environ, "EVIDENCE_DATABASE_URL": sqlite_url}
    command = [sys.executable, "-m", "app.cli"]
    first = subprocess.run([*command, "review", "decide", str(lite.riyadh), "--as", "amal", "--action", "accept",
                            "--version", "0"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([*command, "review", "decide", str(lite.riyadh), "--as", "basil", "--action", "reject",
                             "--version", "0"], env=env, capture_output=True, text=True)
    assert second.returncode == 2 and "decided by someone else" in second.stderr
    dry = run("serve", "--port", "8123", "--dry-run")
    assert "http://127.0.0.1:8123/" in dry.stdout and "5 proposal(s)" in dry.stdout and "amal" in dry.stdout
