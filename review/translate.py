"""A translation of a cited quote into the reviewer's interface language, only when an LLM endpoint is
configured (any OpenAI-compatible one, through LangChain). The original quote stays the evidence: the
translation is an aid, labelled as machine-made, and a failure is shown, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.settings import Settings
from prompts import load_prompt

LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese"}
PROMPT = "translate-quote"  # prompts/translate-quote.v<N>.yaml


@dataclass(frozen=True)
class Translation:
    text: str | None
    model: str
    error: str | None = None


def available(settings: Settings) -> bool:
    return bool(settings.llm_base_url)


def translate(settings: Settings, quote: str, target: str) -> Translation | None:
    """The quote in `target` (en or zh); None when no endpoint is configured. Successes are remembered."""
    if not settings.llm_base_url:  # available(settings), spelled out so that the type narrows
        return None
    key = (settings.llm_base_url, settings.llm_model, quote, target)
    if key not in _done:
        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        result = _ask(settings.llm_base_url, settings.llm_model, api_key, quote, target)
        if result.error:
            return result  # not remembered: the next view tries again
        _done[key] = result
        if len(_done) > REMEMBERED:  # bounded: the oldest translation goes first (a dict keeps insertion order)
            del _done[next(iter(_done))]
    return _done[key]


REMEMBERED = 4096  # translations kept per process: enough for a review session's items, not unbounded
_done: dict[tuple, Translation] = {}


def _ask(base_url: str, model: str, api_key: str, quote: str, target: str) -> Translation:
    from langchain_openai import ChatOpenAI

    system, user = load_prompt(PROMPT).render(language=LANGUAGE_NAMES.get(target, target), quote=quote)
    llm = ChatOpenAI(base_url=base_url, model=model, api_key=api_key, temperature=0, timeout=30, max_retries=1)
    try:
        reply = llm.invoke([("system", system), ("human", user)])
    except Exception as e:  # the endpoint's many failure types all mean: no translation this time
        return Translation(None, model, f"{type(e).__name__}: {e}")
    return Translation(str(reply.content).strip(), model)
