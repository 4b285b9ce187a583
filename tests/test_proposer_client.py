"""The LLM client against endpoints that misbehave as real ones do, each a real HTTP server on loopback.

A 200 that is an HTML page or not JSON, an answer trickled a byte at a time, an answer of megabytes, a
server that refuses json_schema, a quote too short to carry a claim, a context too small for the
evidence: each ends as issue 12 specifies (one failed proposal and the run goes on; cut at the deadline;
cut at the byte cap; asked again with a named tool; not support; passages cut to fit).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat_server import ChatServer, Reply, Request, cite_first_passage, completion
from test_proposer_llm import EDITION, EVIDENCE, RIYADH, WIRELESS, answer
from test_proposer_offline import MOSCOW, indexed

from review.proposer.evidence import Evidence, Passage
from review.proposer.llm import MAX_TEXT_CHARS, LLMConfig, LLMProposer, evidence_budget, fixed_tokens
from review.proposer.run import ProposalRun, questions
from review.proposer.verify import check_citation, too_short

HTML = b"<!doctype html><html><head><title>Sign in</title></head><body><form>Log in to the proxy</form></body></html>"


class RawServer:
    """Answers request n with behaviours[n] (the last one repeats): a callable (handler, body) -> None."""

    def __init__(self, *behaviours) -> None:
        self.behaviours, self.bodies = list(behaviours), []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                owner.bodies.append(body)
                behave = owner.behaviours[min(len(owner.bodies), len(owner.behaviours)) - 1]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up, as it should
                    behave(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> RawServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(handler, status: int, data: bytes, content_type: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def html_page(handler, body) -> None:
    send(handler, 200, HTML, "text/html; charset=utf-8")


def not_json(handler, body) -> None:
    send(handler, 200, b'{"id": "chatcmpl-1", "choices": [{"message": {"content": "cut off', "application/json")


def good(handler, body) -> None:
    send(handler, 200, json.dumps(completion(body, Reply.answer(answer()))).encode())


def scripted(handler, body) -> None:
    send(handler, 200, json.dumps(completion(body, cite_first_passage(Request(body, time.monotonic())))).encode())


def trickle(handler, body, every: float = 0.5, limit: int = 40) -> None:
    """A 200 whose body comes one byte at a time: a per-read timeout never fires (bounded: `limit` bytes)."""
    data = json.dumps(completion(body, Reply.answer(answer()))).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    for byte in data[:limit]:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(every)


def huge(handler, body) -> None:
    """A valid completion whose rationale is 4 MiB."""
    send(handler, 200, json.dumps(completion(body, Reply.answer(answer(rationale="x" * (4 << 20))))).encode())


def propose(base_url: str, **config):
    proposer = LLMProposer(LLMConfig(base_url, "raw-model", api_key="sk-test", **config))
    return proposer.propose(EDITION, RIYADH, WIRELESS, EVIDENCE)


@pytest.mark.parametrize("behaviour", [html_page, not_json], ids=["html-page", "not-json"])
def test_a_200_that_is_not_a_chat_completion_fails_this_proposal_only(behaviour):
    with RawServer(behaviour) as server:
        result = propose(server.base_url, transport_retries=0)
    assert result.out is None and result.verification is None
    assert result.error.startswith("the endpoint's answer is not a chat completion")
    assert len(server.bodies) == 1  # not retried as if the model had answered badly


def test_an_html_answer_fails_one_proposal_and_the_run_goes_on(tmp_path, database_url):
    settings = indexed(tmp_path, database_url, "moscow", "ru", MOSCOW)
    batch = questions("g20-2023", ["moscow"], ["wired-network", "wireless-network", "data-flow"])
    with RawServer(html_page, scripted) as server:
        run = ProposalRun(settings, "llm", LLMConfig(server.base_url, "raw-model", transport_retries=0), 1,
                          show_progress=False)
        report = run.run(batch)
    assert [o.status for o in report.outcomes] == ["failed", "proposed", "proposed"]
    assert "not a chat completion" in report.outcomes[0].error
    assert all(o.level == 1 for o in report.outcomes[1:])


def test_a_trickled_answer_ends_at_the_total_deadline_not_per_read():
    started = time.monotonic()
    with RawServer(trickle) as server:
        result = propose(server.base_url, timeout=2.0, deadline=1.5, transport_retries=0)
    took = time.monotonic() - started
    assert result.out is None and "total deadline of 1.5 s" in result.error
    assert took < 2.5  # one byte every 0.5 s never trips the 2 s read timeout; the deadline ends it
    assert len(server.bodies) == 1


def test_the_deadline_is_per_request_and_a_retry_gets_a_fresh_one():
    with RawServer(trickle, good) as server:
        result = propose(server.base_url, timeout=2.0, deadline=1.0, transport_retries=1)
    assert result.error is None and result.out.level == 2 and len(server.bodies) == 2


def test_a_huge_answer_is_cut_off_at_the_byte_cap_never_stored():
    with RawServer(huge) as server:
        result = propose(server.base_url, transport_retries=0, max_bytes=256 << 10)
    assert result.out is None and "larger than 262,144 bytes" in result.error


def test_max_tokens_is_asked_for_and_a_long_rationale_is_cut_before_it_is_stored():
    with ChatServer([Reply.answer(answer(rationale="The network is commercial. " * 2000))]) as server:
        proposer = LLMProposer(LLMConfig(server.base_url, "scripted-model", api_key="sk-test", max_tokens=700))
        result = proposer.propose(EDITION, RIYADH, WIRELESS, EVIDENCE)
    body = server.requests[0].body
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 700
    assert result.out.level == 2 and len(result.out.rationale) <= MAX_TEXT_CHARS
    assert result.out.rationale.endswith(f"[cut at {MAX_TEXT_CHARS} chars]")


def test_auto_falls_back_to_a_named_tool_when_json_schema_is_refused_and_remembers_it():
    with ChatServer([Reply.error(500), Reply.answer(answer()), Reply.answer(answer())]) as server:
        first = propose(server.base_url, method="auto", transport_retries=0)
        second = propose(server.base_url, method="auto", transport_retries=0)  # a new proposer, same endpoint
    kinds = ["tools" if "tools" in r.body else r.body["response_format"]["type"] for r in server.requests]
    assert kinds == ["json_schema", "tools", "tools"]
    assert first.out.level == 2 and first.method == "function_calling" and "json_schema refused" in first.rejected[0]
    assert second.method == "function_calling" and second.attempts == 1


def test_auto_keeps_json_schema_where_it_is_honoured():
    with ChatServer([Reply.answer(answer()), Reply.answer(answer())]) as server:
        propose(server.base_url, method="auto")
        propose(server.base_url, method="auto")
    assert [r.body["response_format"]["type"] for r in server.requests] == ["json_schema", "json_schema"]


@pytest.mark.parametrize("quote,ok", [
    ("5G", False), ("fibre to the home", False), ("5G covers 96% of districts", True),
    ("建成", False), ("智慧城市", False), ("累计建成5G基站", True), ("全省5G基站达32万个", True),
    ("الجيل الخامس", False), ("تغطي شبكة الجيل الخامس 96%", True),
])
def test_a_quote_must_be_long_enough_for_its_script_to_carry_a_claim(quote, ok):
    assert (too_short(quote) is None) == ok


def test_a_short_verbatim_quote_is_not_support():
    text = "全省累计建成5G基站32万个，实现乡镇以上全覆盖。"
    evidence = Evidence("arab-2024", "guangdong", "wireless-network",
                        [Passage("g1:0-30", 1, text, "zh", "http://gd.example/r.txt", None, "2026-01-26")])
    assert not check_citation("g1:0-30", "5G基站", evidence).verified
    assert "too short to carry a claim" in check_citation("g1:0-30", "5G基站", evidence).problem
    assert check_citation("g1:0-30", "累计建成5G基站32万个", evidence).verified


def test_the_evidence_budget_fits_the_prompt_and_the_answer_into_the_context():
    config = LLMConfig("http://127.0.0.1:9/v1", "m", context=4096, max_tokens=1024)
    proposer = LLMProposer(config)
    fixed = fixed_tokens(proposer.prompt, EDITION, RIYADH, WIRELESS)
    budget = evidence_budget(config, proposer.prompt, EDITION, RIYADH, WIRELESS, 1500)
    assert 300 < fixed < 2000 and budget == min(1500, 4096 - fixed - 1024 - 256)
    small = LLMConfig("http://127.0.0.1:9/v1", "m", context=2048, max_tokens=512)
    assert evidence_budget(small, proposer.prompt, EDITION, RIYADH, WIRELESS, 1500) == 2048 - fixed - 512 - 256
    assert evidence_budget(LLMConfig("http://127.0.0.1:9/v1", "m"), proposer.prompt, EDITION, RIYADH, WIRELESS,
                           1500) == 1500  # no context given: the run's budget
    ratio = LLMConfig("http://127.0.0.1:9/v1", "m", context=4096, max_tokens=768, token_ratio=1.9)
    assert evidence_budget(ratio, proposer.prompt, EDITION, RIYADH, WIRELESS, 1500) == int(3072 / 1.9) - fixed


def test_a_small_context_cuts_the_passages_sent(tmp_path, database_url):
    settings = indexed(tmp_path, database_url, "moscow", "ru", MOSCOW)
    batch = questions("g20-2023", ["moscow"], ["wireless-network"])
    q = batch[0]
    fixed = fixed_tokens(LLMProposer(LLMConfig("http://127.0.0.1:9/v1", "m")).prompt, q.edition, q.city, q.indicator)
    tight = fixed + 512 + 256 + 40  # room for 40 evidence tokens: the best passage only
    sent, prompts = {}, {}
    for context in (None, tight):
        with ChatServer(fallback=cite_first_passage) as server:
            run = ProposalRun(settings, "llm", LLMConfig(server.base_url, f"model-{context}", context=context,
                                                         max_tokens=512), 1, show_progress=False)
            run.run(batch)
        prompts[context] = server.requests[0].body["messages"][1]["content"]
        sent[context] = prompts[context].count("<passage ")
    assert run.budgets == [40] and f"context {tight}" in run.describe_budget()
    assert sent[tight] == 1 < sent[None]
    first = prompts[None][prompts[None].index("<passage "):].split("</passage>")[0]
    assert first in prompts[tight]  # cut from the end of the ranking: the best passage stays


def test_auto_does_not_take_an_auth_error_for_a_refusal_of_json_schema():
    with ChatServer([Reply.error(401), Reply.answer(answer())]) as server:
        first = propose(server.base_url, method="auto", transport_retries=0)
        second = propose(server.base_url, method="auto", transport_retries=0)
    assert first.out is None and "401" in first.error and len(server.requests) == 2
    assert [r.body["response_format"]["type"] for r in server.requests] == ["json_schema", "json_schema"]
    assert second.out.level == 2 and second.method == "json_schema"


def test_evidence_propose_prints_the_prompt_budget(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app

    settings = indexed(tmp_path, f"sqlite:///{tmp_path / 'evidence.db'}", "moscow", "ru", MOSCOW)
    monkeypatch.chdir(tmp_path)
    with ChatServer(fallback=cite_first_passage) as server:
        env = {"EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": settings.database,
               "EVIDENCE_LLM_BASE_URL": server.base_url, "EVIDENCE_LLM_MODEL": "scripted-model",
               "EVIDENCE_LLM_CONTEXT": "3000", "EVIDENCE_LLM_TOKEN_RATIO": "1.5"}
        out = CliRunner().invoke(app, ["propose", "--edition", "g20-2023", "--city", "moscow", "--indicator",
                                       "wireless-network", "--concurrency", "1"], env=env)
    assert out.exit_code == 0, out.output
    assert "1 proposed" in out.output and "prompt budget:" in out.output and "context 3000" in out.output
    assert server.requests[0].body["response_format"]["type"] == "json_schema"  # auto: json_schema first


def test_with_a_known_context_a_retry_does_not_carry_the_rejected_answer():
    script = [Reply.answer(answer(level=7, rationale="r" * 3000)), Reply.answer(answer())]
    with ChatServer(script) as server:
        result = propose(server.base_url, context=4096)
    assert result.out.level == 2 and result.attempts == 2
    retry = server.requests[1].body["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "user"] and "r" * 3000 not in json.dumps(retry)
    assert retry[-1]["content"].startswith("Your answer was rejected")
    with ChatServer(script) as server:
        propose(server.base_url)  # no context given: the whole conversation, as before
    assert [m["role"] for m in server.requests[1].body["messages"]] == ["system", "user", "assistant", "user"]
