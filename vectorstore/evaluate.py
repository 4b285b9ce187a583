"""Retrieval evaluation on the sample's answer key: does an English query find the local-language evidence?

For each city and indicator whose gold level is above 0, one English query is built from the indicator
and its ladder (never from the gold level), restricted to the city; a gold document counts as found when
any of its chunks is in the top k. Recall@k is reported for dense only, lexical only and hybrid.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import select

from evidence.database import session_scope
from evidence.datafile import read_csv
from evidence.errors import DataError
from evidence.record import Page, Snapshot
from evidence.settings import Settings
from frameworks import load_framework
from vectorstore.search import Filters, search

MODES = ("dense", "lexical", "hybrid")


def read_gold(path: Path) -> list[dict]:
    rows = read_csv(path)
    for n, row in enumerate(rows, 2):
        for column in ("edition", "city", "indicator", "level", "documents"):
            if row.get(column) is None:
                raise DataError(path, f"line {n}", f"missing column {column!r}")
        if not row["level"].strip().isdigit():
            raise DataError(path, f"line {n}", f"level {row['level']!r} is not a whole number")
    return rows


def indicator_query(edition: str, indicator: str) -> str:
    ind = load_framework(edition).indicator(indicator)
    return f"{ind.name.en}: " + "; ".join(r.text.en for r in ind.rungs)


def _documents_by_path(settings: Settings) -> dict[tuple[str | None, str], int]:
    """(city, URL path) -> document id, through every URL a document was seen at."""
    with session_scope(settings.database) as session:
        pairs: list[tuple[str | None, str, int | None]] = [
            (city, url, doc) for city, url, doc in session.execute(
                select(Page.city, Page.url, Page.document_id).where(Page.document_id.isnot(None)))]
        pairs += [(None, url, doc) for url, doc in session.execute(select(Snapshot.url, Snapshot.document_id))]
    out: dict[tuple[str | None, str], int] = {}
    for city, url, document_id in pairs:
        if document_id is not None:
            out[(city, urlparse(url).path)] = document_id
            out[(None, urlparse(url).path)] = document_id
    return out


def evaluate_retrieval(settings: Settings, gold_path: Path, k: int = 10, model: str | None = None) -> dict:
    documents = _documents_by_path(settings)
    questions = [r for r in read_gold(gold_path) if int(r["level"]) > 0 and r["documents"].strip()]
    modes: dict[str, dict[str, float]] = {m: {"questions": 0, "documents": 0, "found": 0} for m in MODES}
    per_question = []
    with session_scope(settings.database) as session:
        doc_of_snapshot = dict(session.execute(select(Snapshot.id, Snapshot.document_id)).all())
    for row in questions:
        wanted = {documents.get((row["city"], p.strip())) or documents.get((None, p.strip()))
                  for p in row["documents"].split(";") if p.strip()}
        query = indicator_query(row["edition"], row["indicator"])
        result = {"city": row["city"], "indicator": row["indicator"], "documents": len(wanted)}
        for mode in MODES:
            hits = search(settings, query, k, Filters(city=row["city"]), mode, model)  # type: ignore[arg-type]
            found = {doc_of_snapshot[h.snapshot_id] for h in hits} & (wanted - {None})
            modes[mode]["questions"] += 1
            modes[mode]["documents"] += len(wanted)
            modes[mode]["found"] += len(found)
            result[mode] = len(found)
        per_question.append(result)
    for r in modes.values():
        r["recall"] = r["found"] / r["documents"] if r["documents"] else 0.0
    return {"model": model or settings.embedding_model, "k": k, "modes": modes, "questions": per_question}
