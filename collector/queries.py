"""Discovery's queries: for each city and rung, the rung's text in each of the city's languages (the published
English and Chinese, or a drafted translation of `frameworks/translations/`), restricted to each of the city's
official domains, once as it is and once `filetype:pdf` (policies are mostly published as PDFs)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from evidence.vocabulary import City, Edition


@dataclass(frozen=True)
class Query:
    city: str
    indicator: str
    level: int
    domain: str
    text: str  # what is sent to the search API

    @property
    def pdf(self) -> bool:
        return self.text.endswith("filetype:pdf")


def official_domains(city: City) -> list[str]:
    """The city's official domains: those its registry sources name (allowed domains, else the URL's host)."""
    domains: list[str] = []
    for source in city.sources:
        host = (urlsplit(source.url).hostname or "").removeprefix("www.")
        domains.extend(source.allowed_domains or [host])
    return list(dict.fromkeys(d for d in domains if d))


def city_queries(edition: Edition, city: City, indicators: list[str] | None = None) -> list[Query]:
    """Every query for the city: per indicator, rung, language with a text for it, domain, plain and PDF."""
    out: list[Query] = []
    for indicator in edition.indicators:
        if indicators and indicator.id not in indicators:
            continue
        for rung in indicator.rungs:
            texts = dict.fromkeys(rung.text.get(lang) for lang in city.languages if rung.text.has(lang)) or \
                {rung.text.en: None}  # no language of the city has the ladder: English, as published
            for text in texts:
                for domain in official_domains(city):
                    for suffix in ("", " filetype:pdf"):
                        out.append(Query(city.id, indicator.id, rung.level, domain,
                                         f'"{text}" site:{domain}{suffix}'))
    return out
