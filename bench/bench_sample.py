"""The bundled sample's answer key, offline proposer: as written and leave-one-city-out.

The cue vocabulary (review/proposer/cues.yaml) was written while looking at the bundled sample, so its
figure on the sample's own key (`sources/sample/gold.csv`) is optimistic: it is the data the cues were
written on. The leave-one-city-out figure is the honest one for the sample: for each city, every cue,
topic and hedge phrase (several words, or five or more characters of a script without spaces) found in
that city's crawled pages and in no other sample city's pages is removed (a phrase that could only have
been copied from that city), and the city's rows are proposed with what remains. Single words stay:
most sample languages have one city, so any word of them is "only in" that city, fitted or not. Both
runs are printed beside the always-majority baseline of the same rows.

    .venv/bin/python bench/bench_sample.py [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "sources" / "sample" / "gold.csv"


def crawl_sample(work: Path) -> None:
    from collector import crawl as crawling
    from collector.server import SampleServer
    from evidence.settings import load_settings
    from vectorstore.index import index_snapshots

    settings = load_settings()
    limits = crawling.CrawlLimits(**crawling.SAMPLE_LIMITS)
    with SampleServer(version="v1", port=0) as server:
        for edition in ("g20-2023", "arab-2024"):
            cities = crawling.edition_cities(edition, None)
            sources = crawling.file_sources(server.write_sources(work / f"sources-{edition}.yaml"), cities)
            crawling.run(settings, edition, sources, limits)
    index_snapshots(settings, show_progress=False)


def city_texts() -> dict[str, str]:
    from sqlalchemy import select

    from evidence.database import session_scope
    from evidence.record import Document, Snapshot
    from evidence.settings import load_settings

    texts: dict[str, list[str]] = {}
    with session_scope(load_settings().database) as session:
        for city, text in session.execute(select(Document.city, Snapshot.text).join(Snapshot)):
            texts.setdefault(city, []).append(text)
    return {city: "\n".join(parts) for city, parts in texts.items()}


def _all_terms(data: dict):
    """(path in the file, term) for every term of the cue file."""
    for lang, terms in data["hedges"].items():
        yield ("hedges", lang), terms
    for ind, entry in data["indicators"].items():
        for lang, terms in entry.get("topic", {}).items():
            yield ("topic", ind, lang), terms
        for level, by_lang in entry["rungs"].items():
            for lang, terms in by_lang.items():
                yield ("rung", ind, level, lang), terms


def _is_phrase(term: str) -> bool:
    unspaced = sum("\u3040" <= ch <= "\u9fff" or "\u0e00" <= ch <= "\u0e7f" for ch in term)
    return len(term.split()) > 1 or unspaced >= 5


def held_out_cues(city: str, texts: dict[str, str], folder: Path) -> tuple[Path, list[str]]:
    """The cue file without the terms only `city`'s pages contain; the removed terms."""
    from review.proposer.cues import CUES_FILE, compile_term

    data = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8"))
    removed = []
    for _, terms in _all_terms(data):
        for term in [t for t in terms if _is_phrase(t)]:
            pattern = compile_term(term)
            here = bool(pattern.find(texts.get(city, "")))
            elsewhere = any(pattern.find(t) for c, t in texts.items() if c != city)
            if here and not elsewhere:
                terms.remove(term)
                removed.append(term)
    path = folder / f"cues-without-{city}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, removed


def city_key(city: str, folder: Path) -> Path:
    with GOLD.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    path = folder / f"gold-{city}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["city"] == city)
    return path


def run(work: Path) -> dict:
    os.environ["EVIDENCE_DATA_DIR"] = str(work / "data")
    os.environ.pop("EVIDENCE_DATABASE_URL", None)
    from evidence.settings import load_settings
    from review.proposer.cues import load_cues
    from review.proposer.evaluate import evaluate, metrics
    from review.proposer.run import ProposalRun

    started = time.perf_counter()
    crawl_sample(work)
    settings = load_settings()
    crawled = time.perf_counter() - started
    written = evaluate(settings, GOLD, ProposalRun(settings, "offline", show_progress=False))
    texts = city_texts()
    held, removed = [], {}
    for city in sorted({q["city"] for q in written["questions"]}):
        path, removed[city] = held_out_cues(city, texts, work)
        report = evaluate(settings, city_key(city, work), ProposalRun(settings, "offline", show_progress=False,
                                                                       cues=load_cues(path)))
        held += report["questions"]
    gold = [q["gold"] for q in held]
    labels = list(range(0, max(gold + [q["proposed"] or 0 for q in held]) + 1))
    majority = written["majority_level"]
    loco = {**metrics(gold, [q["proposed"] or 0 for q in held], labels),
            "baseline": metrics(gold, [majority] * len(gold), labels)}
    return {"crawl_and_index_s": crawled, "as_written": written["overall"], "leave_one_city_out": loco,
            "removed_terms": removed, "majority_level": majority}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as tmp:
        result = run(Path(tmp))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"offline proposer on sources/sample/gold.csv vs always-{result['majority_level']}")
    for column in ("run", "n", "exact", "maj. exact", "±1", "κ² quadratic", "κ linear"):
        table.add_column(column, justify="right")
    for name, s in (("cues as written (the data they were written on)", result["as_written"]),
                    ("leave one city out", result["leave_one_city_out"])):
        pct = lambda v: "—" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        k = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        table.add_row(name, str(s["n"]), pct(s["exact"]), pct(s["baseline"]["exact"]), pct(s["within_one"]),
                      k(s["kappa_quadratic"]), k(s["kappa"]))
    console = Console(width=140)
    console.print(table)
    counts = {city: len(terms) for city, terms in result["removed_terms"].items()}
    console.print(f"phrases held out per city (found in its pages only): {counts}")


if __name__ == "__main__":
    main()
