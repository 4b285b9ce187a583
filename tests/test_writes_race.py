"""Writes that cannot race: two `propose` processes at once make one proposal per question and pay the LLM once;
three processes migrating a fresh database at once all succeed; old duplicate proposals survive the migration.

Real processes, real PostgreSQL and SQLite, a real chat-completions server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from alembic import command
from chat_server import ChatServer, cite_first_passage
from sqlalchemy import func, select, text
from test_proposer_offline import MOSCOW, indexed

from evidence.database import alembic_config, current_revision, head_revision, make_engine, session_scope, upgrade
from evidence.record import Proposal, ProposalClaim

INDICATORS = ["wired-network", "wireless-network", "public-health", "emergency-system", "government-service",
              "data-flow", "blockchain"]


def _env(settings, **extra) -> dict:
    return {**os.environ, "EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": settings.database,
            "EVIDENCE_EMBEDDING_MODEL": "use-multilingual", **extra}


def test_two_propose_runs_at_once_make_one_proposal_per_question_and_ask_once(tmp_path, database_url):
    settings = indexed(tmp_path, database_url, "moscow", "ru", MOSCOW)
    with ChatServer(fallback=cite_first_passage, latency=0.2) as server:
        env = _env(settings, EVIDENCE_LLM_BASE_URL=server.base_url, EVIDENCE_LLM_MODEL="scripted-model",
                   OPENAI_API_KEY="sk-test")
        command_line = [sys.executable, "-m", "app.cli", "propose", "--edition", "g20-2023", "--city", "moscow",
                        *[a for i in INDICATORS for a in ("--indicator", i)], "--concurrency", "2", "--json"]
        runs = [subprocess.Popen(command_line, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=240) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
        asked = len(server.requests)
    reports = [json.loads(out)["counts"] for out, _ in outputs]
    assert all(r["proposed"] + r["reused"] == len(INDICATORS) and r["failed"] == 0 for r in reports)
    assert sum(r["proposed"] for r in reports) == len(INDICATORS)
    assert asked == len(INDICATORS)  # each question sent once, by whichever run claimed it
    with session_scope(settings.database) as s:
        per_indicator = dict(s.execute(select(Proposal.indicator, func.count()).group_by(Proposal.indicator)).all())
        claims_left = s.scalar(select(func.count()).select_from(ProposalClaim))
    assert per_indicator == dict.fromkeys(INDICATORS, 1)
    assert claims_left == 0  # every claim went with the proposal it led to


def test_three_processes_migrating_a_fresh_database_at_once_all_succeed(tmp_path, database_url):
    env = {**os.environ, "EVIDENCE_DATABASE_URL": database_url, "EVIDENCE_DATA_DIR": str(tmp_path / "data")}
    runs = [subprocess.Popen([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    head = head_revision(database_url)
    assert all(f"database at revision {head}" in out for out, _ in outputs)
    assert sum("(migrated)" in out for out, _ in outputs) == 1  # one migrated; the others waited and found head
    assert current_revision(make_engine(database_url)) == head


def test_duplicate_proposals_of_old_runs_are_kept_and_rekeyed(tmp_path, database_url):
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
    with engine.begin() as conn:
        for _ in range(3):  # what two runs at once could leave: one input, three rows
            conn.execute(text("INSERT INTO proposals (edition, city, indicator, level, method, rationale, confidence,"
                              " missing_evidence, flags, evidence_chunks, evidence_snapshots, input_hash, tokens_in,"
                              " tokens_out, latency_ms, stale, created_at) VALUES ('g20-2023', 'moscow', 'blockchain',"
                              " 1, 'offline', '', 0, '', '[]', '[]', '[]', :h, 0, 0, 0, false, CURRENT_TIMESTAMP)"),
                         {"h": "a" * 64})
    assert upgrade(engine)
    with session_scope(database_url) as s:
        rows = s.execute(select(Proposal.id, Proposal.input_hash).order_by(Proposal.id)).all()
    first = rows[0].id
    assert [h for _, h in rows] == ["a" * 64, f"duplicate-{rows[1].id}-of-{first}", f"duplicate-{rows[2].id}-of-{first}"]
    assert not upgrade(engine)  # at head: nothing to do
