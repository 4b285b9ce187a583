"""Real documents, the whole chain: served over loopback, crawled, indexed, proposed, evaluated.

The documents of a per-document answer key (`../shared/realdocs`: `docs/<doc>.txt` and `key.csv`, or any
folder of that shape, such as a held-out set) are served by a loopback HTTP server, crawled by the
collector as seed sources, indexed, and every row of the key is asked of its one document, offline and,
when `EVIDENCE_LLM_BASE_URL` is set, with the LLM. Places the registry lacks are registered from
`realdocs_places.yaml` in a user registry folder. Printed beside the always-majority baseline of the
same rows: exact, within-one, quadratic and linear kappa on all rows and on high+medium, the share of
nonzero proposals resting on an achieved citation the key confirms, levels shown as supported that rest
on plans (must be 0), and the supporting-sentence recall of the gathered passages.

    .venv/bin/python bench/bench_realdocs.py [--key ../shared/realdocs/key.csv] [--edition arab-2024] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KEY = ROOT.parent / "shared" / "realdocs" / "key.csv"
PLACES = Path(__file__).resolve().parent / "realdocs_places.yaml"


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {**SimpleHTTPRequestHandler.extensions_map,
                                                 ".txt": "text/plain; charset=utf-8"}

    def log_message(self, *args) -> None:
        pass


@contextmanager
def served(folder: Path):
    """The documents on 127.0.0.1 at a free port, for as long as the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def key_rows(key: Path) -> list[dict]:
    with key.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def register_places(rows: list[dict], folder: Path, edition: str, places: Path) -> None:
    """Country files for the key's places that the shipped registry lacks, in a user registry folder."""
    from sources import read_registry

    known = read_registry().ids()
    wanted = {r["city"] for r in rows} - known
    catalogue = yaml.safe_load(places.read_text(encoding="utf-8"))
    by_country: dict[str, list[dict]] = {}
    for country, cities in catalogue.items():
        for city in cities:
            if city["id"] in wanted:
                by_country.setdefault(country, []).append({**city, "editions": [edition]})
                wanted.discard(city["id"])
    if wanted:
        sys.exit(f"{places}: no entry for {', '.join(sorted(wanted))}: add the place (country, names, languages)")
    folder.mkdir(parents=True, exist_ok=True)
    for country, cities in by_country.items():
        (folder / f"{country.lower()}.yaml").write_text(
            yaml.safe_dump({"country": country, "cities": cities}, allow_unicode=True), encoding="utf-8")


def sources_file(rows: list[dict], base: str, path: Path) -> Path:
    docs = {r["doc"]: r["city"] for r in rows}
    entries = [{"city": city, "url": f"{base}/{doc}.txt", "kind": "seed", "allow_private": True,
                "provenance": f"answer-key document {doc}, served on loopback by this benchmark"}
               for doc, city in sorted(docs.items())]
    path.write_text(yaml.safe_dump({"sources": entries}), encoding="utf-8")
    return path


def run_chain(key: Path, edition: str, work: Path, methods: list[str]) -> dict:
    rows = key_rows(key)
    os.environ["EVIDENCE_REGISTRY_DIRS"] = json.dumps([str(work / "registry")])
    os.environ["EVIDENCE_DATA_DIR"] = str(work / "data")
    register_places(rows, work / "registry", edition, PLACES)
    from collector import crawl as crawling
    from evidence.settings import load_settings
    from review.proposer.evaluate import evaluate
    from review.proposer.llm import LLMConfig
    from review.proposer.run import ProposalRun
    from vectorstore.index import index_snapshots

    settings = load_settings()
    timings: dict[str, float] = {}
    with served(key.parent / "docs") as base:
        started = time.perf_counter()
        sources = crawling.file_sources(sources_file(rows, base, work / "sources.yaml"), sorted({r["city"] for r in rows}))
        limits = crawling.CrawlLimits(**{**crawling.SAMPLE_LIMITS, "depth": 0})
        crawled = crawling.run(settings, edition, sources, limits)
        timings["crawl_s"] = time.perf_counter() - started
    started = time.perf_counter()
    indexed = index_snapshots(settings, show_progress=False)
    timings["index_s"] = time.perf_counter() - started
    reports = {}
    for method in methods:
        started = time.perf_counter()
        llm = LLMConfig.from_settings(settings) if method == "llm" else None
        reports[method] = evaluate(settings, key, ProposalRun(settings, method, llm, show_progress=False), edition)
        timings[f"{method}_s"] = time.perf_counter() - started
    return {"crawl": {k: v for k, v in crawled.items() if k in ("fetched", "snapshots", "problems", "state")},
            "chunks": indexed.chunks_total, "timings": timings, "reports": reports}


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _k(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def print_report(result: dict, key: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    console.print(f"[bold]{key}[/]: {result['chunks']} chunks; " +
                  ", ".join(f"{k} {v:.1f}" for k, v in result["timings"].items()))
    for method, report in result["reports"].items():
        table = Table(title=f"{method} proposer ({report['model']}, {report['prompt_version']}) vs always-"
                            f"{report['majority_level']}")
        for column in ("rows", "n", "exact", "maj. exact", "±1", "κ² quadratic", "κ linear", "maj. κ²",
                       "supported", "plans shown", "sentence recall"):
            table.add_column(column, justify="right")
        for name, s in (("all", report["overall"]), ("high+medium", report["confident"])):
            b = s["baseline"]
            table.add_row(name, str(s["n"]), _pct(s["exact"]), _pct(b["exact"]), _pct(s["within_one"]),
                          _k(s["kappa_quadratic"]), _k(s["kappa"]), _k(b["kappa_quadratic"]),
                          f"{_pct(s['supported'])} of {s['nonzero']}", str(s["planned_only_shown"]),
                          _pct(s["sentence_recall"]))
        console.print(table)
        docs = Table(title="per document (all rows)")
        for column in ("document", "n", "exact", "maj. exact", "κ²", "nonzero", "supported", "sentence recall"):
            docs.add_column(column, justify="right")
        for name, s in report["by_document"].items():
            docs.add_row(name, str(s["n"]), _pct(s["exact"]), _pct(s["baseline"]["exact"]), _k(s["kappa_quadratic"]),
                         str(s["nonzero"]), _pct(s["supported"]), _pct(s["sentence_recall"]))
        console.print(docs)
    console.print("supported: nonzero proposals resting on an achieved, verbatim citation whose level the key "
                  "confirms; plans shown: nonzero levels resting only on plans or work under way, not lowered "
                  "(must be 0); sentence recall: the key's supporting sentence among the gathered passages.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key", type=Path, default=DEFAULT_KEY, help="a per-document key beside its docs/ folder")
    parser.add_argument("--edition", default="arab-2024", help="the edition whose ladders the key was labelled on")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (the record, the index, "
                                                  "the proposals: `evidence review show` reads them there)")
    args = parser.parse_args()
    methods = ["offline"] + (["llm"] if os.environ.get("EVIDENCE_LLM_BASE_URL") else [])
    if args.keep:
        result = run_chain(args.key.resolve(), args.edition, args.keep.resolve(), methods)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-realdocs-") as tmp:
            result = run_chain(args.key.resolve(), args.edition, Path(tmp), methods)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    else:
        print_report(result, args.key)


if __name__ == "__main__":
    main()
