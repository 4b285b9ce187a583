"""Web-search APIs behind one adapter: SearXNG's JSON API (`GET /search?q=...&format=json`) and the Brave Search
API (`GET /res/v1/web/search?q=...`, key in `X-Subscription-Token`). Each answer is read with a size cap, and
every failure is an error naming the engine, the address and what went wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from evidence.errors import EvidenceError
from evidence.settings import Discovery

MAX_ANSWER = 5 * 1024 * 1024  # a page of results is a few kilobytes
BRAVE = "https://api.search.brave.com"
USER_AGENT = "evidence-discovery/0.1 (smart-city evidence research)"


@dataclass(frozen=True)
class Hit:
    url: str
    title: str | None
    snippet: str | None


class SearchError(EvidenceError):
    """The search API could not be asked, or answered something else than results."""


class SearchClient:
    """One engine, as configured (`discovery.*`), with one connection pool for a run's queries."""

    def __init__(self, settings: Discovery):
        if settings.engine is None:
            raise SearchError("no search API configured: set EVIDENCE_DISCOVERY_ENGINE (searxng or brave) and "
                              "EVIDENCE_DISCOVERY_BASE_URL (and EVIDENCE_DISCOVERY_API_KEY for brave)")
        base = settings.base_url or (BRAVE if settings.engine == "brave" else None)
        if not base:
            raise SearchError("searxng needs the instance's address: set EVIDENCE_DISCOVERY_BASE_URL")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if settings.engine == "brave" and not key:
            raise SearchError("brave needs a key: set EVIDENCE_DISCOVERY_API_KEY")
        self.engine, self.base, self.results = settings.engine, base.rstrip("/"), settings.results
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if settings.engine == "brave" and key:
            headers["X-Subscription-Token"] = key
        self.client = httpx.Client(timeout=settings.timeout, headers=headers)

    def search(self, query: str) -> list[Hit]:
        if self.engine == "brave":
            answer = self._get("/res/v1/web/search", {"q": query, "count": self.results})
            results = (answer.get("web") or {}).get("results") or []
            return [Hit(r["url"], r.get("title"), r.get("description")) for r in results if _has_url(r)]
        answer = self._get("/search", {"q": query, "format": "json"})
        results = answer.get("results") or []
        return [Hit(r["url"], r.get("title"), r.get("content")) for r in results if _has_url(r)][:self.results]

    def _get(self, path: str, params: dict) -> dict:
        url = self.base + path
        try:
            with self.client.stream("GET", url, params=params) as response:
                body = b""
                for block in response.iter_bytes():
                    body += block
                    if len(body) > MAX_ANSWER:
                        raise SearchError(f"{self.engine} at {url}: answer larger than {MAX_ANSWER:,} bytes")
        except httpx.HTTPError as e:
            raise SearchError(f"{self.engine} at {url}: {type(e).__name__}: {e}") from None
        if response.status_code != 200:
            raise SearchError(f"{self.engine} at {url}: HTTP {response.status_code} "
                              f"{body[:200].decode('utf-8', 'replace')}")
        try:
            answer = json.loads(body)
        except ValueError:
            raise SearchError(f"{self.engine} at {url}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise SearchError(f"{self.engine} at {url}: expected a JSON object")
        return answer

    def close(self) -> None:
        self.client.close()


def _has_url(result) -> bool:
    return isinstance(result, dict) and isinstance(result.get("url"), str) and result["url"].startswith(("http://", "https://"))
