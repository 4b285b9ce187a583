"""Proposer benchmark: tokens per proposal and proposals per minute against the loopback LLM server.

A real ProposalRun (evidence from a real index, LangChain's ChatOpenAI, verification, the record) against
the scripted OpenAI-compatible server on 127.0.0.1, which answers every request after a fixed latency
(the model's time) with a well-formed proposal quoting the first passage. The baseline is the same run
with one call in flight (concurrency 1), measured in the same process; then `--concurrency` calls in
flight, and the same again under a rate limit. Each run has its own model name, so none reuses another's
proposals. Figures are for the proposing phase; gathering evidence is reported apart (it is the same for
every run and needs no endpoint).

    .venv/bin/python bench/bench_proposer.py [--latency 0.25] [--concurrency 8] [--rate 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evidence.database import session_scope
from evidence.record import Document, Snapshot
from evidence.settings import Settings
from review.proposer.llm import LLMConfig
from review.proposer.run import ProposalRun, questions
from vectorstore.index import index_snapshots

# the scripted chat server is a test fixture, not part of the shipped packages: it lives beside the tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from chat_server import ChatServer, cite_first_passage

CORPUS = {  # city -> (language, passages): enough text for every indicator's evidence
    "moscow": ("ru", ["Сети 4G покрывают 100% территории Москвы, 5G работает в 14 пилотных зонах.",
                      "Гигабитный доступ есть у 91% домохозяйств, оптоволокно проведено во все дома.",
                      "Система-112 и ЕДДС округов передают сообщения о происшествиях сверху вниз.",
                      "Электронная медицинская карта есть у 12 миллионов москвичей.",
                      "Портал mos.ru предоставляет 390 услуг в режиме одного окна."]),
    "tokyo": ("ja", ["都内の5G人口カバー率は97.6%に達し、商用サービスが提供されています。",
                     "最大1Gbps以上の光回線の世帯カバー率は99.8%です。",
                     "防災センターは国・都・区市町村を結ぶ災害情報システムを運用しています。",
                     "電子カルテは都内病院の81.8%で導入されています。",
                     "東京共同電子申請サービスでワンストップの手続が可能です。"]),
    "paris": ("fr", ["La fibre FTTH est disponible pour 99,6 % des locaux, avec des offres à 1 Gbit/s.",
                     "Quatre opérateurs proposent la 5G commerciale dans les vingt arrondissements.",
                     "Le centre de veille fonctionne 24 heures sur 24 avec des capteurs sur la Seine.",
                     "Le compte unique permet plus de 230 démarches en ligne.",
                     "Le règlement de la circulation des données est aligné sur le RGPD."]),
    "london": ("en", ["Gigabit-capable broadband is available to 84% of London premises.",
                      "All four operators run commercial 5G in all 33 local authority areas.",
                      "The London Care Record links every GP practice and hospital.",
                      "A 24-hour duty centre is fed by a 320-sensor flood network.",
                      "The roadmap relies on UK GDPR and the Data Protection Act 2018."]),
}


def seed(settings: Settings) -> None:
    with session_scope(settings.database) as s:
        for city, (language, texts) in CORPUS.items():
            for n, text in enumerate(texts):
                doc = Document(city=city)
                s.add(doc)
                s.flush()
                s.add(Snapshot(document_id=doc.id, url=f"http://{city}.example/{n}.html", raw_sha256=f"{n:064d}",
                               text_sha256=f"{hash((city, n)) & (2**64 - 1):064x}", text=text, language=language,
                               title=text[:30], fetched_at=datetime(2023, 6, 1, tzinfo=UTC)))
    index_snapshots(settings, show_progress=False)


def measure(settings: Settings, server: ChatServer, name: str, concurrency: int, rate: float | None) -> dict:
    config = LLMConfig(server.base_url, f"bench-{name}", api_key="sk-bench", rate=rate)
    report = ProposalRun(settings, "llm", config, concurrency, show_progress=False).run(
        questions("g20-2023", list(CORPUS)))
    made = [o for o in report.outcomes if o.status == "proposed"]
    assert len(made) == len(report.outcomes), [o.error for o in report.outcomes if o.error]
    return {"run": name, "concurrency": concurrency, "rate": rate, "proposals": len(made),
            "tokens_in": sum(o.tokens_in for o in made) / len(made), "tokens_out": sum(o.tokens_out for o in made) / len(made),
            "per_minute": 60 * len(made) / report.propose_seconds, "seconds": report.propose_seconds,
            "evidence_seconds": report.evidence_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="the server's seconds per answer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second for the rate-limited run")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=f"sqlite:///{tmp}/bench.db",
                            embedding_model="use-multilingual")
        seed(settings)
        with ChatServer(fallback=cite_first_passage, latency=args.latency) as server:
            runs = [measure(settings, server, "sequential", 1, None),
                    measure(settings, server, "concurrent", args.concurrency, None),
                    measure(settings, server, "rate-limited", args.concurrency, args.rate)]
    base = runs[0]["per_minute"]
    table = Table("run", "in flight", "limit", "proposals", "tokens in", "tokens out", "per min", "ratio",
                  title=f"proposer against the loopback server ({args.latency:g} s per answer)",
                  caption="tokens: per proposal; per min: proposals per minute; ratio: against the sequential run")
    for r in runs:
        table.add_row(r["run"], str(r["concurrency"]), f"{r['rate']:g}/s" if r["rate"] else "none", str(r["proposals"]),
                      f"{r['tokens_in']:.0f}", f"{r['tokens_out']:.0f}", f"{r['per_minute']:.0f}",
                      f"{r['per_minute'] / base:.2f}x")
    console.print(table)
    console.print(f"evidence gathering (same for every run): {runs[0]['evidence_seconds']:.1f} s for "
                  f"{runs[0]['proposals']} questions; tokens are the server's estimate (4 characters a token)")


if __name__ == "__main__":
    main()
