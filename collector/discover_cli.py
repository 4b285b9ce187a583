"""Commands: `evidence discover` (ask for an edition's documents), `discover candidates`, `discover accept`."""

from __future__ import annotations

import typer
from rich.table import Table

from evidence.output import JsonOption, console, emit_json, errors

discover_app = typer.Typer(help="Find candidate documents for the cities (web search, sitemaps, feeds) and accept "
                                "them into sources.", invoke_without_command=True)


@discover_app.callback()
def discover(ctx: typer.Context,
             edition: str | None = typer.Option(None, help="edition whose cities are searched, e.g. arab-2024"),
             city: list[str] | None = typer.Option(None, "--city", help="only this city (repeatable)"),
             indicator: list[str] | None = typer.Option(None, "--indicator", help="only this indicator (repeatable)"),
             search: bool = typer.Option(True, help="ask the web-search API (setting discovery.engine)"),
             feeds: bool = typer.Option(True, help="read the portals' sitemaps and feeds"),
             as_json: bool = JsonOption) -> None:
    """Query per city and rung in the city's languages, on its official domains; record the candidates."""
    if ctx.invoked_subcommand:
        return
    from collector.crawl import edition_cities
    from collector.discover import discover as run_discovery
    from evidence.errors import DataError
    from evidence.settings import load_settings
    from sources import load_registry

    if edition is None:
        raise DataError("--edition", "", "give the edition whose cities to search, e.g. --edition arab-2024")
    registry = load_registry()
    cities = [registry.get(c) for c in edition_cities(edition, city)]
    report = run_discovery(load_settings(), edition, cities, indicator, search, feeds)
    if as_json:
        emit_json(report)
        return
    table = Table("city", "new candidates", title=f"{edition}: {report['queries']} queries ({report['engine'] or 'none'})")
    for name, count in report["new_candidates"].items():
        table.add_row(name, str(count))
    console.print(table)
    if report["queries_left"]:
        errors.print(f"[yellow]{report['queries_left']} queries not sent[/] (setting discovery.max_queries): "
                     "narrow with --city or --indicator, or run again")
    if report["without_domain"]:
        errors.print(f"[yellow]{len(report['without_domain'])} cities have no official domain to search[/]: "
                     "add a source (`evidence sources add`)")
    console.print("review them with `evidence discover candidates`, accept with `evidence discover accept ID...`")


@discover_app.command("candidates")
def candidates(edition: str | None = typer.Option(None, help="only this edition"),
               city: str | None = typer.Option(None, help="only this city"),
               every: bool = typer.Option(False, "--all", help="accepted ones too"),
               as_json: bool = JsonOption) -> None:
    """The candidates found and not yet accepted, with the query that found each."""
    from collector.discover import list_candidates
    from evidence.database import configured_session

    with configured_session() as s:
        rows = list_candidates(s, edition, city, None if every else "new")
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "city", "indicator", "rung", "url", "title", "found by", title=f"{len(rows)} candidates")
    for r in rows:
        table.add_row(str(r["id"]), r["city"], r["indicator"] or "", str(r["level"] or ""), r["url"],
                      (r["title"] or "")[:50], f"{r['engine']}: {r['query']}")
    console.print(table)


@discover_app.command("accept")
def accept(ids: list[int] = typer.Argument(..., help="candidate ids"),
           allow_private: bool = typer.Option(False, "--allow-private", help="allow a loopback or private address "
                                                                              "(a test site)"),
           as_json: bool = JsonOption) -> None:
    """Add the candidates to your registry folder as seed sources and crawl them."""
    from collector.discover import accept as accept_candidates
    from evidence.settings import load_settings

    settings = load_settings()
    result = accept_candidates(settings, ids, settings.crawl, allow_private, None if as_json else errors)
    if as_json:
        emit_json(result)
        return
    for crawl in result["crawls"]:
        console.print(f"crawl {crawl['crawl']} ({crawl['edition']}): {crawl['state']}, {crawl['new_snapshots']} new "
                      "snapshots")
