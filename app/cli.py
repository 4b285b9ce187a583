"""The `evidence` command. Each part of the pipeline adds its own sub-commands here."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from evidence.errors import DataError, EvidenceError
from evidence.output import JsonOption, console, emit_json, errors

app = typer.Typer(help="Evidence for smart-city rankings: frameworks, cities, crawl, index, propose, review, score.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
frameworks_app = typer.Typer(help="Edition frameworks: indicators and their ladders.", no_args_is_help=True)
cities_app = typer.Typer(help="The city registry.", no_args_is_help=True)
weights_app = typer.Typer(help="Expert-panel weights.", no_args_is_help=True)
db_app = typer.Typer(help="The record (database).", no_args_is_help=True)
app.add_typer(frameworks_app, name="frameworks")
app.add_typer(cities_app, name="cities")
app.add_typer(weights_app, name="weights")
app.add_typer(db_app, name="db")
from app.jobs import cli as jobs  # noqa: E402
from collector.cli import crawl, documents_app, sample_app  # noqa: E402

app.command("crawl")(jobs.distributable(crawl, jobs.crawl))
app.command("worker")(jobs.worker)
from collector.discover_cli import discover_app  # noqa: E402

app.add_typer(discover_app, name="discover")
app.add_typer(sample_app, name="sample")
app.add_typer(documents_app, name="documents")

from vectorstore.cli import index, index_app, search  # noqa: E402  (sub-commands of each pipeline part)

index_app.callback(invoke_without_command=True)(jobs.distributable(index, jobs.index))
app.add_typer(index_app, name="index")
app.command("search")(search)
from scoring.cli import app as score_app  # noqa: E402

app.add_typer(score_app, name="score")
from app.serve import serve  # noqa: E402
from review.cli import attachments_app, review_app, reviewers_app  # noqa: E402

app.add_typer(review_app, name="review")
app.add_typer(attachments_app, name="attachments")
app.add_typer(reviewers_app, name="reviewers")
app.command("serve")(serve)
from review.proposer.cli import eval_command, propose  # noqa: E402

app.command("propose")(jobs.distributable(propose, jobs.propose))
app.command("eval")(eval_command)
from watch.cli import watch, watch_app  # noqa: E402

watch_app.callback(invoke_without_command=True)(jobs.distributable(watch, jobs.watch))

app.add_typer(watch_app, name="watch")
from sources.cli import cities_add, sources_app  # noqa: E402

cities_app.command("add")(cities_add)
app.add_typer(sources_app, name="sources")



@frameworks_app.command("list")
def frameworks_list(as_json: bool = JsonOption) -> None:
    """List the editions whose frameworks ship with the tool."""
    from frameworks import load_all

    editions = load_all()
    if as_json:
        emit_json([{"id": e.id, "title": e.title, "published": e.published, "areas": [a.id for a in e.areas],
                    "indicators": len(e.indicators), "draft_ladders": sum(i.draft for i in e.indicators),
                    "languages": e.languages, "draft_translations": sorted(lang for lang, d in e.translations.items() if d)}
                   for e in editions])
        return
    table = Table("edition", "title", "published", "areas", "indicators", "draft ladders", "languages")
    for e in editions:
        drafted = [f"{lang}*" if e.translations.get(lang) else lang for lang in e.languages]
        table.add_row(e.id, e.title.en, e.published, str(len(e.areas)), str(len(e.indicators)),
                      str(sum(i.draft for i in e.indicators)), " ".join(drafted))
    console.print(table)
    console.print("languages: * marks a drafted translation (frameworks/translations/), for the author to confirm")


@frameworks_app.command("show")
def frameworks_show(edition: str, lang: str = typer.Option("en", help="a language of the edition's ladders: en, zh "
                                                                      "or a translation's (see `frameworks list`)"),
                    as_json: bool = JsonOption) -> None:
    """Show an edition's indicators with their ladders, area by area."""
    from frameworks import load_framework

    e = load_framework(edition)
    if lang not in e.languages:
        raise DataError("--lang", lang, f"{edition}'s ladders are in {', '.join(e.languages)}")
    if as_json:
        emit_json(e)
        return
    top = max(i.top for i in e.indicators)
    table = Table(title=f"{e.id}: {e.title.get(lang)}", show_lines=True)
    for col in ["area", "indicator", *map(str, range(1, top + 1))]:
        table.add_column(col)
    for area in e.areas:
        for ind in e.in_area(area.id):
            name = ind.name.get(lang) + (" [yellow](draft)[/]" if ind.draft else "")
            cells = [r.text.get(lang) for r in ind.rungs] + [""] * (top - ind.top)
            table.add_row(area.name.get(lang), f"{name}\n[dim]{ind.id}[/]", *cells)
    console.print(table)
    tiers = ", ".join(f"{t.name.get(lang)} ≤{t.upto:g}%" for t in e.tiers)
    console.print(f"{len(e.indicators)} indicators in {len(e.areas)} areas. Tiers: {tiers}")
    if e.translations.get(lang):
        console.print(f"[yellow]{lang}: a drafted translation, for the author to confirm[/]")


@cities_app.command("list")
def cities_list(edition: str = typer.Option(..., help="edition id, e.g. g20-2023"),
                table_name: str | None = typer.Option(None, "--table", help="a separate table, e.g. greater-china"),
                missing: bool = typer.Option(False, "--missing", help="only the cities with no source to crawl"),
                as_json: bool = JsonOption) -> None:
    """List the cities of an edition."""
    from frameworks import load_framework
    from sources import load_registry

    framework = load_framework(edition)  # an unknown edition is an error, not an empty list
    everyone = load_registry().in_edition(edition, table_name)
    cities = [c for c in everyone if not c.sources] if missing else everyone
    if as_json:
        emit_json([{"id": c.id, "name": c.name, "country": c.country, "languages": c.languages,
                    "editions": c.editions, "tables": c.tables_in(edition), "sources": c.sources} for c in cities])
        return
    title = (f"{edition}: {len(cities)} of {len(everyone)} cities have no source (add one with a user registry "
             "folder, EVIDENCE_REGISTRY_DIRS)") if missing else f"{edition}: {len(cities)} cities"
    table = Table("id", "English", "中文", "local", "country", "languages", "tables", "sources", title=title)
    for c in cities:
        table.add_row(c.id, c.name.en, c.name.zh, c.name.local, c.country, ",".join(c.languages),
                      ",".join(c.tables_in(edition)), str(len(c.sources)))
    console.print(table)
    if framework.cities and not table_name and len(everyone) < framework.cities:
        console.print(f"[yellow]{edition} is incomplete: {len(everyone)} of the ranking's {framework.cities} cities are in "
                      "the registry (the reports do not print the others); add them with `evidence cities add`[/]")


@weights_app.command("aggregate")
def weights_aggregate(path: Path, edition: str = typer.Option(..., help="edition the panel weighted"),
                      method: str = typer.Option("mean", help="mean, median or trimmed"),
                      trim: float = typer.Option(0.1, help="share cut from each end for the trimmed mean"),
                      as_json: bool = JsonOption) -> None:
    """Aggregate an expert panel's weights per indicator and show each indicator's spread."""
    from frameworks import load_framework
    from frameworks.weights import aggregate, read_weights

    e = load_framework(edition)
    panel = read_weights(path, e)
    rows = aggregate(panel, method, trim)  # type: ignore[arg-type]
    if as_json:
        emit_json({"edition": e.id, "method": method, "experts": len(panel.experts), "weights": rows})
        return
    area_of = {i.id: i.area for i in e.indicators}
    table = Table("area", "indicator", method, "std", "min", "max", "IQR",
                  title=f"{e.id}: {len(panel.experts)} experts, {method}")
    for r in rows:
        table.add_row(area_of[r.indicator], r.indicator, f"{r.weight:.2f}", f"{r.std:.2f}", f"{r.minimum:.2f}",
                      f"{r.maximum:.2f}", f"{r.q1:.2f}–{r.q3:.2f}")
    console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest revision (under a lock: any number of processes at once)."""
    from evidence.database import current_revision, make_engine, upgrade
    from evidence.settings import load_settings

    engine = make_engine(load_settings().database)
    migrated = upgrade(engine)
    console.print(f"database at revision {current_revision(engine)}" + (" (migrated)" if migrated else ""))


@app.command()
def doctor(as_json: bool = JsonOption) -> None:
    """Report the database, data directory, embedding model and LLM endpoint this setup would use."""
    from app.doctor import checks

    results = checks()
    if as_json:
        emit_json(results)
        return
    table = Table("check", "status", "detail", title="evidence doctor")
    for r in results:
        table.add_row(r["check"], "[green]ok[/]" if r["ok"] else "[red]problem[/]", r["detail"])
    console.print(table)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except EvidenceError as e:
        errors.print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
