"""The LLM call: LangChain's OpenAI chat model against any OpenAI-compatible endpoint, structured output.

Transport failures (429, 5xx, timeouts, dropped connections) are retried with exponential back-off by
the OpenAI client underneath (it honours Retry-After); requests go through a shared rate limiter.
Output failures (not JSON, wrong shape, level outside the ladder, a level without a verified quote) are
retried here, a bounded number of times, telling the model what was wrong. Tokens are counted on every
attempt, failed ones included, from the raw response (`include_raw=True`).

What a real endpoint does that a well-behaved one does not (each ends as one failed proposal, the run goes
on): a 200 whose body is not a chat completion (an HTML page, a proxy's login form, cut-off JSON); an
answer trickled a byte at a time (each socket read is held to what is left of a total deadline per
request, not only to a timeout per read); an answer of any size (`max_tokens` is asked for, the body is
cut off at `max_bytes`, and a rationale beyond `MAX_TEXT_CHARS` is truncated before it is stored).

The structured-output method is `json_schema` (OpenAI's response format: llama.cpp's llama-server, vLLM,
OpenAI, Azure), `function_calling` (a named tool: llama-cpp-python, Ollama's older releases) or `auto`:
the first request tries json_schema and an endpoint that refuses it with an HTTP error is asked with
function_calling from then on (remembered per base URL for the process).
"""

from __future__ import annotations

import html
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Literal, cast

import httpcore
import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_openai import ChatOpenAI
from pydantic import ValidationError

from evidence.settings import Settings
from evidence.vocabulary import City, Edition, Indicator
from prompts import Prompt, load_prompt
from review.proposer.evidence import Evidence
from review.proposer.model import ProposalOut, proposal_model, response_schema
from review.proposer.verify import Verification, verify

PROMPT = "propose-level"
Method = Literal["json_schema", "function_calling", "auto"]
Structured = Literal["json_schema", "function_calling"]  # what LangChain is asked for, once "auto" is settled
METHODS = ("json_schema", "function_calling", "auto")
NOT_A_REFUSAL = (401, 403, 404, 408, 429)  # HTTP errors that say nothing about json_schema (auth, model, load)
MAX_TEXT_CHARS = 4000  # a rationale or "missing" text longer than this is cut before it is stored
PROMPT_MARGIN_TOKENS = 256  # the token estimate is approximate (chunking.approx_tokens): keep this much spare


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0  # seconds per read (connect, each read of the answer)
    deadline: float | None = None  # seconds per request in all (None: 4 x timeout); a trickled answer ends there
    transport_retries: int = 2  # 429 / 5xx / timeout, with back-off (OpenAI client)
    attempts: int = 3  # output attempts: the first answer and up to two corrections
    rate: float | None = None  # requests per second across all workers; None = unlimited
    method: Method = "json_schema"
    max_tokens: int = 1024  # answer tokens asked for at most (a proposal needs a few hundred)
    max_bytes: int = 1 << 20  # answer body bytes read at most; a larger answer is cut off, the attempt failed
    context: int | None = None  # the model's context in tokens; the evidence is cut to fit (None: no limit)
    # the model's tokens per token of our estimate (chunking.approx_tokens counts words and CJK characters, not
    # punctuation, markup or sub-words): Qwen2.5's tokenizer counted 3,890 for a prompt estimated at ~2,100
    token_ratio: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> LLMConfig:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        found = {"method": settings.llm_method, "context": settings.llm_context, "token_ratio": settings.llm_token_ratio}
        return cls(base_url=settings.llm_base_url or "", model=settings.llm_model, api_key=key,
                   **{**{k: v for k, v in found.items() if v is not None}, **{k: v for k, v in overrides.items()
                                                                             if v is not None}})

    @property
    def total_deadline(self) -> float:
        return self.deadline if self.deadline is not None else 4 * self.timeout


class AnswerTooLarge(httpcore.ReadError):
    """The answer's body went past the client's byte cap."""


_guard = threading.local()  # this thread's request in flight: its deadline and the bytes read so far


class _GuardedStream(httpcore.NetworkStream):
    """A socket whose every read and write is held to what is left of the request's deadline and byte cap."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def _left(self, timeout: float | None) -> float | None:
        deadline = getattr(_guard, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout(f"the request's total deadline ({_guard.seconds:g} s) has passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = self._left(timeout)
        try:
            data = self._stream.read(max_bytes, left)
        except httpcore.ReadTimeout:
            if left is not None and left != timeout:  # it waited what was left of the deadline
                raise httpcore.ReadTimeout(f"the request's total deadline ({_guard.seconds:g} s) has passed") from None
            raise
        _guard.read = getattr(_guard, "read", 0) + len(data)
        if _guard.read > getattr(_guard, "max_bytes", float("inf")):
            raise AnswerTooLarge(f"the answer is larger than {_guard.max_bytes:,} bytes: cut off")
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _GuardedStream(self._stream.start_tls(ssl_context, server_hostname, self._left(timeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _GuardedStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _GuardedStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport whose connections are guarded; each request starts its own deadline and byte count."""

    def __init__(self, deadline: float, max_bytes: int) -> None:
        super().__init__()
        self._pool._network_backend = _GuardedBackend(self._pool._network_backend)
        self.deadline, self.max_bytes = deadline, max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _guard.deadline, _guard.seconds = time.monotonic() + self.deadline, self.deadline
        _guard.read, _guard.max_bytes = 0, self.max_bytes
        return super().handle_request(request)  # the body is read after this, in this thread, still guarded


def guarded_client(deadline: float, max_bytes: int) -> httpx.Client:
    return httpx.Client(transport=_GuardedTransport(deadline, max_bytes), follow_redirects=False)


_methods: dict[str, str] = {}  # base URL -> the structured-output method it honours (method "auto")
_methods_lock = threading.Lock()


def fixed_tokens(prompt: Prompt, edition: Edition, city: City, indicator: Indicator) -> int:
    """The prompt's tokens without any evidence (system text, ladder, question), estimated as the index does."""
    from vectorstore.chunking import approx_tokens

    empty = Evidence(edition.id, city.id, indicator.id, [])
    return sum(approx_tokens(str(m.content)) for m in messages(prompt, edition, city, indicator, empty))


def evidence_budget(config: LLMConfig, prompt: Prompt, edition: Edition, city: City, indicator: Indicator,
                    wanted: int) -> int:
    """Evidence tokens for one question: `wanted`, cut so that prompt, evidence and answer fit the context."""
    if not config.context:
        return wanted
    room = int((config.context - config.max_tokens - PROMPT_MARGIN_TOKENS) / config.token_ratio) \
        - fixed_tokens(prompt, edition, city, indicator)
    return max(0, min(wanted, room))


@dataclass
class LLMResult:
    out: ProposalOut | None
    verification: Verification | None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    rejected: list[str] = field(default_factory=list)  # why earlier attempts were not accepted
    method: str = ""  # the structured-output method the answer was asked with
    status_error: int | None = None  # the HTTP status of an error answer, if that is how it ended


def render_ladder(indicator: Indicator) -> str:
    lines = [f"{r.level}: {r.text.en} ({r.text.zh})" for r in indicator.rungs]
    if indicator.draft:
        lines.append("(This ladder is a draft built from the report texts; apply it as written.)")
    return "\n".join(lines)


def render_evidence(evidence: Evidence) -> str:
    """Passages as delimited, escaped data: crawled text cannot close the element it is put in."""
    if not evidence.passages:
        return "(no passages were found)"
    return "\n".join(
        f'<passage id="{html.escape(p.chunk_id)}" lang="{html.escape(p.language or "und")}" date="{html.escape(p.date)}" '
        f'{_document_year(evidence, p)}section="{html.escape(" › ".join(p.section))}" source="{html.escape(p.url)}">\n'
        f'{html.escape(p.text, quote=False)}\n</passage>' for p in evidence.passages)


def _document_year(evidence: Evidence, passage) -> str:
    voice = evidence.voices.get(passage.snapshot_id)
    return f'document-year="{voice.year}" ' if voice and voice.year else ""


def messages(prompt: Prompt, edition: Edition, city: City, indicator: Indicator, evidence: Evidence) -> list[BaseMessage]:
    system, user = prompt.render(
        edition=edition.title.en, city=f"{city.name.en} ({city.name.local})", country=city.country,
        languages=", ".join(city.languages), indicator=indicator.name.en, indicator_id=indicator.id,
        ladder=render_ladder(indicator), top=str(indicator.top), evidence=render_evidence(evidence))
    return [SystemMessage(system), HumanMessage(user)]


class LLMProposer:
    """One chat model (thread-safe) shared by all workers of a run."""

    def __init__(self, config: LLMConfig, prompt: Prompt | None = None) -> None:
        self.config = config
        self.prompt = prompt or load_prompt(PROMPT)
        limiter = InMemoryRateLimiter(requests_per_second=config.rate, check_every_n_seconds=0.01,
                                      max_bucket_size=1) if config.rate else None
        self.chat = ChatOpenAI(base_url=config.base_url, model=config.model, api_key=config.api_key or "not-needed",
                               timeout=config.timeout, max_retries=config.transport_retries, rate_limiter=limiter,
                               temperature=0, max_tokens=config.max_tokens,
                               http_client=guarded_client(config.total_deadline, config.max_bytes))

    @property
    def method(self) -> str:
        """The method requests use now: the configured one, or for `auto` what this endpoint was found to honour."""
        if self.config.method != "auto":
            return self.config.method
        with _methods_lock:
            return _methods.get(self.config.base_url.rstrip("/"), "json_schema")

    def _probing(self) -> bool:
        """`auto` and this endpoint's method not yet known: this request finds it out."""
        with _methods_lock:
            return self.config.method == "auto" and self.config.base_url.rstrip("/") not in _methods

    def _structured(self, top: int, method: str):
        schema = response_schema(top)
        if method == "function_calling":
            schema = {"name": schema["name"], "description": schema["description"], "parameters": schema["schema"]}
        return self.chat.with_structured_output(schema, method=cast(Structured, method), include_raw=True)

    def propose(self, edition: Edition, city: City, indicator: Indicator, evidence: Evidence) -> LLMResult:
        probing, method = self._probing(), self.method
        result = self._propose(edition, city, indicator, evidence, method)
        if probing and result.status_error is not None and result.status_error not in NOT_A_REFUSAL:
            # the endpoint refused json_schema: ask with a named tool from now on
            with _methods_lock:
                _methods[self.config.base_url.rstrip("/")] = "function_calling"
            again = self._propose(edition, city, indicator, evidence, "function_calling")
            again.rejected.insert(0, f"json_schema refused ({result.error}); asked with function_calling")
            again.tokens_in += result.tokens_in
            again.latency_ms += result.latency_ms
            return again
        elif probing and result.out is not None:
            with _methods_lock:
                _methods.setdefault(self.config.base_url.rstrip("/"), "json_schema")
        return result

    def _propose(self, edition: Edition, city: City, indicator: Indicator, evidence: Evidence,
                 method: str) -> LLMResult:
        chain = self._structured(indicator.top, method)
        history = first = messages(self.prompt, edition, city, indicator, evidence)
        result = LLMResult(None, None, method=method)
        started = time.perf_counter()
        try:
            for _ in range(self.config.attempts):
                result.attempts += 1
                answer = chain.invoke(history)
                usage = getattr(answer["raw"], "usage_metadata", None) or {}
                result.tokens_in += usage.get("input_tokens", 0)
                result.tokens_out += usage.get("output_tokens", 0)
                out, problem = _parse(answer, indicator.top)
                if out is not None:
                    checked = verify(out, evidence, indicator.top, city.languages)
                    result.out, result.verification = out, checked
                    if checked.acceptable:
                        return result
                    problem = "; ".join(checked.problems)
                result.rejected.append(problem)
                correction = HumanMessage(f"Your answer was rejected: {problem}. Answer again, following the rules: "
                                          "a level within the ladder, and quotes copied exactly from the cited passages.")
                # a model with a known context gets the question and the correction, not its whole earlier answer:
                # the history would grow past the budget (a 4k local model ran out of context on a retry)
                history = [*first, correction] if self.config.context else \
                    [*history, AIMessage(_raw_text(answer["raw"])), correction]
            if result.out is None or not 0 <= result.out.level <= indicator.top:
                result.out, result.verification = None, None
                result.error = f"no valid answer after {result.attempts} attempts: {result.rejected[-1]}"
            return result  # a level without a verified quote is kept, flagged, never shown as supported
        except openai.APITimeoutError as e:
            deadline = any(isinstance(c, httpx.ReadTimeout) and "deadline" in str(c) for c in _causes(e))
            result.error = (f"timed out: the total deadline of {self.config.total_deadline:g} s per request passed"
                            if deadline else f"timed out after {self.config.timeout:g} s") + \
                f" ({self.config.transport_retries} retries)"
        except openai.RateLimitError as e:
            result.error = f"rate limited (HTTP 429) after {self.config.transport_retries} retries: {e.message}"
            result.status_error = 429
        except openai.APIStatusError as e:
            result.error = f"{type(e).__name__} (HTTP {e.status_code}): {_short(e)}"
            result.status_error = e.status_code
        except openai.APIConnectionError as e:
            too_large = next((c for c in _causes(e) if isinstance(c, AnswerTooLarge)), None)
            result.error = str(too_large) if too_large else f"{type(e).__name__}: {getattr(e, 'message', e)}"
        except Exception as e:  # a 200 that is no chat completion (HTML, cut-off JSON, a wrong shape): this one fails
            result.error = f"the endpoint's answer is not a chat completion ({type(e).__name__}: {_short(e)})"
        finally:
            result.latency_ms = (time.perf_counter() - started) * 1000
        return result


def _parse(answer: dict, top: int) -> tuple[ProposalOut | None, str]:
    if answer.get("parsing_error") is not None:
        return None, f"the answer is not valid JSON for the schema ({_short(answer['parsing_error'])})"
    if answer.get("parsed") is None:
        return None, "the answer carried no structured output"
    try:
        out = proposal_model(top).model_validate(answer["parsed"])
    except ValidationError as e:
        return None, "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
    return out.model_copy(update={"rationale": _cap(out.rationale), "missing_for_next_rung":
                                  _cap(out.missing_for_next_rung)}), ""


def _cap(text: str) -> str:
    """Free text as stored: at most MAX_TEXT_CHARS, marked where it was cut."""
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 30] + f" … [cut at {MAX_TEXT_CHARS} chars]"


def _raw_text(raw: AIMessage) -> str:
    calls = getattr(raw, "tool_calls", None)
    return json.dumps(calls[0]["args"], ensure_ascii=False) if calls else str(raw.content or "")


def _causes(error: BaseException):
    """The error and what it was raised from, outermost first (LangChain wraps OpenAI's, which wraps httpx's)."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
