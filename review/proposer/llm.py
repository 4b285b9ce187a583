"""The LLM call: LangChain's OpenAI chat model against any OpenAI-compatible endpoint, structured output.

Transport failures (429, 5xx, timeouts, dropped connections) are retried with exponential back-off by
the OpenAI client underneath (it honours Retry-After); requests go through a shared rate limiter.
Output failures (not JSON, wrong shape, level outside the ladder, a level without a verified quote) are
retried here, a bounded number of times, telling the model what was wrong. Tokens are counted on every
attempt, failed ones included, from the raw response (`include_raw=True`).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from typing import Literal

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
Method = Literal["json_schema", "function_calling"]


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0  # seconds per request
    transport_retries: int = 2  # 429 / 5xx / timeout, with back-off (OpenAI client)
    attempts: int = 3  # output attempts: the first answer and up to two corrections
    rate: float | None = None  # requests per second across all workers; None = unlimited
    method: Method = "json_schema"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> LLMConfig:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(base_url=settings.llm_base_url or "", model=settings.llm_model, api_key=key, **overrides)


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
                               temperature=0)

    def _structured(self, top: int):
        schema = response_schema(top)
        if self.config.method == "function_calling":
            schema = {"name": schema["name"], "description": schema["description"], "parameters": schema["schema"]}
        return self.chat.with_structured_output(schema, method=self.config.method, include_raw=True)

    def propose(self, edition: Edition, city: City, indicator: Indicator, evidence: Evidence) -> LLMResult:
        chain = self._structured(indicator.top)
        history = messages(self.prompt, edition, city, indicator, evidence)
        result = LLMResult(None, None)
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
                history = [*history, AIMessage(_raw_text(answer["raw"])),
                           HumanMessage(f"Your answer was rejected: {problem}. Answer again, following the rules: "
                                        "a level within the ladder, and quotes copied exactly from the cited passages.")]
            if result.out is None or not 0 <= result.out.level <= indicator.top:
                result.out, result.verification = None, None
                result.error = f"no valid answer after {result.attempts} attempts: {result.rejected[-1]}"
            return result  # a level without a verified quote is kept, flagged, never shown as supported
        except openai.APITimeoutError:
            result.error = f"timed out after {self.config.timeout:g} s ({self.config.transport_retries} retries)"
        except openai.RateLimitError as e:
            result.error = f"rate limited (HTTP 429) after {self.config.transport_retries} retries: {e.message}"
        except (openai.APIStatusError, openai.APIConnectionError) as e:
            result.error = f"{type(e).__name__}: {getattr(e, 'message', e)}"
        finally:
            result.latency_ms = (time.perf_counter() - started) * 1000
        return result


def _parse(answer: dict, top: int) -> tuple[ProposalOut | None, str]:
    if answer.get("parsing_error") is not None:
        return None, f"the answer is not valid JSON for the schema ({_short(answer['parsing_error'])})"
    if answer.get("parsed") is None:
        return None, "the answer carried no structured output"
    try:
        return proposal_model(top).model_validate(answer["parsed"]), ""
    except ValidationError as e:
        return None, "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())


def _raw_text(raw: AIMessage) -> str:
    calls = getattr(raw, "tool_calls", None)
    return json.dumps(calls[0]["args"], ensure_ascii=False) if calls else str(raw.content or "")


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
