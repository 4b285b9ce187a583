"""`evidence propose` and `evidence eval`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from evidence.errors import EvidenceError
from evidence.output import JsonOption, console, emit_json
from evidence.settings import Settings, load_settings

MethodOption = typer.Option(None, "--method", help="llm or offline; default: llm when EVIDENCE_LLM_BASE_URL is set")


def proposal_run(settings: Settings, method: str | None, concurrency: int, rate: float | None, timeout: float,
                 attempts: int, budget: int | None, structured: str | None, quiet: bool):
    """The proposal run these options ask for (also what a distributed run's worker makes for each question)."""
    from review.proposer.llm import METHODS, LLMConfig
    from review.proposer.run import ProposalRun, default_method

    chosen = method or default_method(settings)
    if chosen not in ("llm", "offline"):
        raise EvidenceError(f"--method must be llm or offline, not {chosen!r}")
    structured = structured or settings.llm_method
    if structured not in METHODS:
        raise EvidenceError(f"--structured must be one of {', '.join(METHODS)}, not {structured!r}")
    llm = LLMConfig.from_settings(settings, timeout=timeout, attempts=attempts, rate=rate,
                                  method=structured) if chosen == "llm" else None
    return ProposalRun(settings, chosen, llm, concurrency, budget, show_progress=not quiet)  # type: ignore[arg-type]


def propose(edition: str = typer.Option(..., help="edition id, e.g. arab-2024"),
            city: list[str] | None = typer.Option(None, help="only these cities (repeatable)"),
            indicator: list[str] | None = typer.Option(None, help="only these indicators (repeatable)"),
            method: str | None = MethodOption,
            concurrency: int = typer.Option(4, help="LLM calls in flight at once"),
            rate: float | None = typer.Option(None, help="at most this many LLM requests per second"),
            timeout: float = typer.Option(60.0, help="seconds per LLM request"),
            attempts: int = typer.Option(3, help="answers asked for per question when one is invalid"),
            budget: int | None = typer.Option(None, help="evidence tokens per question (default: 1500 for the LLM, "
                                                         "12000 offline)"),
            structured: str | None = typer.Option(None, help="json_schema, function_calling (older endpoints) or "
                                                         "auto (probe once); default EVIDENCE_LLM_METHOD, else auto"),
            as_json: bool = JsonOption) -> None:
    """Propose each city's level on each indicator's ladder, with verified citations; resumable."""
    from collector.crawl import edition_cities
    from review.proposer.run import questions

    settings = load_settings()
    cities = edition_cities(edition, city) if city else None  # a city outside the edition: refused, as by crawl
    run = proposal_run(settings, method, concurrency, rate, timeout, attempts, budget, structured, as_json)
    report = run.run(questions(edition, cities, indicator))
    if as_json:
        emit_json(report.as_dict())
        return
    table = Table("city", "indicator", "status", "level", "flags", "tokens", "ms",
                  title=f"{edition}: {run.method} proposals ({run.model}, {run.version})")
    for o in (o for o in report.outcomes if o.status != "no-evidence"):  # listed in the summary line instead
        style = {"failed": "red", "no-evidence": "dim", "reused": "cyan"}.get(o.status, "green")
        table.add_row(o.question.city.id, o.question.indicator.id, f"[{style}]{o.status}[/]",
                      "" if o.level is None else str(o.level), _flags(o.flags) or (o.error or ""),
                      f"{o.tokens_in}/{o.tokens_out}", f"{o.latency_ms:.0f}")
    console.print(table)
    console.print(run.describe_budget())
    bare = sorted({o.question.city.id for o in report.outcomes if o.status == "no-evidence"})
    console.print(f"{report.count('proposed')} proposed, {report.count('reused')} already proposed from the same "
                  f"inputs, {report.count('failed')} failed; evidence {report.evidence_seconds:.1f} s, proposing "
                  f"{report.propose_seconds:.1f} s")
    if bare:
        console.print(f"[dim]{report.count('no-evidence')} questions skipped: nothing collected yet for "
                      f"{len(bare)} cities ({', '.join(bare[:8])}{', …' if len(bare) > 8 else ''})[/]")
    if report.count("failed"):
        raise typer.Exit(1)


def _flags(flags: list[str]) -> str:
    """Flags for a table cell: the passages excluded as instructions to AI readers are counted, not listed."""
    excluded = sum(f.startswith("excluded-evidence:") for f in flags)
    shown = [f for f in flags if not f.startswith("excluded-evidence:")]
    return ", ".join(shown + ([f"{excluded} passage(s) addressing AI excluded"] if excluded else []))


def _pct(value, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _kappa(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _evidence_table(groups: dict) -> Table:
    """What the levels rest on: achieved citations the key confirms, plans shown, the sentence gathered."""
    table = Table(title="what the levels rest on")
    for column in ("", "nonzero", "supported", "planned only, shown", "lowered (plans)", "sentence gathered"):
        table.add_column(column, justify="right")
    for name, s in groups.items():
        table.add_row(name, str(s["nonzero"]), _pct(s["supported"]), str(s["planned_only_shown"]),
                      str(s["lowered_as_planned"]), _pct(s["sentence_recall"]))
    return table


def _metrics_table(title: str, label: str, groups: dict, digits: int = 1) -> Table:
    """Overall (digits=1) with every column; per group (digits=0) without `none` and `maj. ±1`, to fit 80 columns."""
    full = digits > 0
    table = Table(title=title)
    table.add_column(label, no_wrap=True)
    for column in ("n", "exact", "±1", "κ", "κ²", "cites ok", *(["none"] if full else []), "maj.",
                   *(["maj. ±1"] if full else [])):
        table.add_column(column, justify="right")
    for name, s in groups.items():
        b = s["baseline"]
        better = s["exact"] is not None and b["exact"] is not None and s["exact"] > b["exact"]
        cells = [str(s["n"]), ("[green]" if better else "") + _pct(s["exact"], digits), _pct(s["within_one"], digits),
                 _kappa(s["kappa"]), _kappa(s["kappa_quadratic"]), _pct(s["citation_support"], digits)]
        cells += [str(s["missing"]), _pct(b["exact"], digits), _pct(b["within_one"], digits)] if full \
            else [_pct(b["exact"], digits)]
        table.add_row(name, *cells)
    return table


def eval_command(gold: Path = typer.Option(..., "--gold", "--key", exists=True,
                                           help="answer key CSV, or a folder of them: edition,city,indicator,level,"
                                                "... or doc,city,indicator,level,start,end,confidence,reason"),
                 edition: str | None = typer.Option(None, help="the edition whose ladders a per-document key uses"),
                 docs: Path | None = typer.Option(None, help="folder of a per-document key's <doc>.txt "
                                                           "(default: docs/ beside the key)"),
                 method: str | None = MethodOption,
                 concurrency: int = typer.Option(4, help="LLM calls in flight at once"),
                 rate: float | None = typer.Option(None, help="at most this many LLM requests per second"),
                 timeout: float = typer.Option(60.0, help="seconds per LLM request"),
                 budget: int | None = typer.Option(None, help="evidence tokens per question (default: 1500 for "
                                                              "the LLM, 12000 offline)"),
                 as_json: bool = JsonOption) -> None:
    """Evaluate the proposer on an answer key: accuracy, weighted kappa, citation support, vs a majority baseline."""
    from review.proposer.evaluate import evaluate

    settings = load_settings()
    run = proposal_run(settings, method, concurrency, rate, timeout, 3, budget, None, as_json)
    report = evaluate(settings, gold, run, edition, docs)
    if as_json:
        emit_json(report)
        return
    title = f"{report['method']} proposer ({report['model']}, {report['prompt_version']}) on {gold}"
    overall = {"all rows": report["overall"]}
    if report["confident"]["n"] != report["overall"]["n"]:
        overall["high+medium"] = report["confident"]
    console.print(_metrics_table(title, "", overall))
    console.print(_evidence_table(overall))
    if len(report["by_document"]) > 1:
        console.print(_metrics_table("per document", "document", report["by_document"], 0))
    console.print(_metrics_table("per indicator", "indicator", report["by_indicator"], 0))
    console.print(_metrics_table("per language", "language", report["by_language"], 0))
    console.print(f"±1: within one level; κ: linearly weighted Cohen's kappa, κ²: quadratic; cites ok: share of "
                  f"quotes found in their "
                  f"chunks; none: questions without a proposal; maj.: the majority baseline, always level "
                  f"{report['majority_level']}")
    labels = report["labels"]
    confusion = Table("key \\ proposed", *map(str, labels), title="confusion matrix (rows: answer key)")
    for level, row in zip(labels, report["confusion"]):
        confusion.add_row(str(level), *(f"[bold]{n}[/]" if i == level and n else str(n) for i, n in zip(labels, row)))
    console.print(confusion)
