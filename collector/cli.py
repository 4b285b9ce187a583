"""Commands: `evidence crawl`, `evidence sample serve`, `evidence documents list|show|diff|fetches`.

Heavy libraries (Scrapy, trafilatura) are imported inside the commands, so `evidence --help` stays quick.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from rich.syntax import Syntax
from rich.table import Table

from evidence.errors import EvidenceError
from evidence.output import JsonOption, console, emit_json, errors
from evidence.settings import CrawlLimits

if TYPE_CHECKING:  # the sample's loader is imported by the commands that serve it, not at every start
    from collector.sample import Version

SAMPLE_PORT = 8800

sample_app = typer.Typer(help="The bundled sample of government sites, served over loopback.", no_args_is_help=True)
documents_app = typer.Typer(help="Collected documents, their snapshots and the fetch log.", no_args_is_help=True)


def crawl(edition: str = typer.Option(..., help="edition whose cities are crawled, e.g. g20-2023"),
          city: list[str] | None = typer.Option(None, "--city", help="only this city (repeatable)"),
          max_pages: int | None = typer.Option(None, help="stop after this many pages; the next run resumes"),
          sample: bool = typer.Option(False, "--sample", help="crawl the bundled sample, served for this crawl"),
          sample_version: str = typer.Option("v1", help="sample version to serve with --sample: v1 or v2"),
          sample_port: int = typer.Option(SAMPLE_PORT, help="port of the sample's loopback hosts (0: any free)"),
          sources_file: Path | None = typer.Option(None, "--sources", help="crawl the sources in this YAML "
                                                      "file instead of the registry's (e.g. a running sample's)"),
          restart: bool = typer.Option(False, help="abandon an unfinished run of this scope instead of resuming it"),
          timeout: float | None = typer.Option(None, help="seconds per request"),
          max_bytes: int | None = typer.Option(None, help="size cap per response"),
          retries: int | None = typer.Option(None, help="retries per request"),
          backoff: float | None = typer.Option(None, help="seconds before the first retry (doubles)"),
          delay: float | None = typer.Option(None, help="minimum seconds between requests to one host"),
          concurrency: int | None = typer.Option(None, help="requests in flight per host"),
          depth: int | None = typer.Option(None, help="link depth from each start page"),
          source_pages: int | None = typer.Option(None, help="pages per source at most (default "
                                                  f"{CrawlLimits().source_pages}, setting crawl.source_pages)"),
          as_json: bool = JsonOption) -> None:
    """Crawl the sources of an edition's cities politely into dated snapshots (resumes an interrupted run)."""
    from collector import crawl as crawling
    from evidence.settings import load_settings

    settings = load_settings()
    cities = crawling.edition_cities(edition, city)
    flags = {"timeout": timeout, "max_bytes": max_bytes, "retries": retries, "backoff": backoff, "delay": delay,
             "concurrency": concurrency, "depth": depth, "max_pages": max_pages, "source_pages": source_pages}
    limits = chosen_limits(settings.crawl, flags, sample)
    if sample:
        with _serve_sample(sample_version, sample_port) as server:
            sources = crawling.file_sources(server.write_sources(settings.data_dir / "sample" / "sources.yaml"), cities)
            summary = crawling.run(settings, edition, sources, limits, restart, None if as_json else errors)
    else:
        sources = (crawling.file_sources(sources_file, cities) if sources_file
                   else crawling.registry_sources(cities))
        bare = sorted(set(cities) - {s.city for s in sources})
        if bare and not as_json:  # never a silent skip: a city without a source has no evidence at all
            errors.print(f"[yellow]{len(bare)} of {len(cities)} cities have no source to crawl[/] ({', '.join(bare[:10])}"
                         f"{', …' if len(bare) > 10 else ''}): `evidence cities list --edition {edition} --missing`")
        summary = crawling.run(settings, edition, sources, limits, restart, None if as_json else errors)
        summary["cities_without_sources"] = bare
    _show_summary(settings.database, summary, as_json)


def chosen_limits(configured: CrawlLimits, flags: dict, sample: bool = False) -> CrawlLimits:
    """The settings' crawl limits with the flags given (and the sample's own, for the sample) over them."""
    from collector.crawl import SAMPLE_LIMITS

    defaults = SAMPLE_LIMITS if sample else {}
    return configured.model_copy(update={**defaults, **{k: v for k, v in flags.items() if v is not None}})


def _serve_sample(version: str, port: int):
    """The sample server, started by the `with` block (a port in use is an EvidenceError naming it)."""
    from collector.server import SampleServer

    return SampleServer(version=_version(version), port=port)


def _version(version: str) -> Version:
    if version not in ("v1", "v2"):
        raise EvidenceError(f"unknown sample version {version!r}: v1 or v2")
    return cast("Version", version)


def _show_summary(database: str, summary: dict, as_json: bool) -> None:
    from collector.documents import list_fetches
    from evidence.database import session_scope

    with session_scope(database) as session:
        problems = list_fetches(session, outcomes=["lost", "failed", "refused"], crawl_id=summary["crawl"])
    if as_json:
        emit_json({**summary, "problems": problems})
        return
    names = ["new-snapshot", "unchanged", "duplicate", "not-modified", "redirected", "failed", "refused", "lost"]
    table = Table("city", *names, title=f"crawl {summary['crawl']} ({summary['edition']}): {summary['state']}, "
                  f"{summary['fetches']} fetches, {summary['new_snapshots']} new snapshots")
    for city, counts in summary["outcomes"].items():
        table.add_row(city, *(str(counts.get(n, 0)) for n in names))
    console.print(table)
    if problems:
        failed = Table("city", "outcome", "status", "url", "reason", title="failures are data: recorded, not fatal")
        for p in reversed(problems):
            failed.add_row(p["city"], p["outcome"], str(p["status"] or ""), p["url"], p["reason"] or "")
        console.print(failed)
    if summary["lost"]:
        console.print(f"[red]not clean:[/] {summary['lost']} page(s) lost: their extraction worker died twice")
    for source in summary["over_budget"]:
        console.print(f"[yellow]{source['url']}:[/] stopped at its budget of {source['pages']} pages (--source-pages)")
    if summary["state"] == "paused":
        console.print("[yellow]paused:[/] run the same command again to resume where it stopped")
    console.print(f"[dim]log: {summary['log']}[/]")


@sample_app.command("serve")
def sample_serve(version: str = typer.Option("v1", help="v1, or v2 (the second version, for change detection)"),
                 port: int = typer.Option(SAMPLE_PORT, help="port on every site's loopback address (0: any free)"),
                 root: Path | None = typer.Option(None, help="another sample tree (with sites/<city>/site.yaml)"),
                 slow_seconds: float = typer.Option(30.0, help="how long the slow pages take to answer"),
                 sources_out: Path | None = typer.Option(None, help="where to write the sample's sources file"),
                 duration: float | None = typer.Option(None, help="stop after this many seconds (default: Ctrl-C)")
                 ) -> None:
    """Serve every sample site on its own loopback address, as the crawler will meet them."""
    from collector.sample import SAMPLE
    from collector.server import SampleServer
    from evidence.settings import load_settings

    out = sources_out or load_settings().data_dir / "sample" / "sources.yaml"
    server = SampleServer(root or SAMPLE, _version(version), port, slow_seconds).start()
    try:
        server.write_sources(out)
        table = Table("city", "edition", "language", "site", "name", title=f"sample {version}: {len(server.urls)} sites")
        for city, url in server.urls.items():
            spec = server.site(city).spec
            table.add_row(city, spec.edition, spec.language, url + spec.start, spec.name)
        console.print(table)
        console.print(f"sources written to {out}; crawl them with\n"
                      f"  evidence crawl --edition g20-2023 --sources {out}\n[dim]Ctrl-C stops the server[/]")
        _wait(duration)
    finally:
        server.stop()


def _wait(duration: float | None) -> None:
    deadline = time.monotonic() + duration if duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass


@documents_app.command("list")
def documents_list(city: str | None = typer.Option(None, help="only this city"), as_json: bool = JsonOption) -> None:
    """List collected documents: latest title, language, URLs and number of snapshots."""
    from collector.documents import list_documents
    from evidence.database import configured_session

    with configured_session() as s:
        rows = list_documents(s, city)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "city", "lang", "kind", "title", "url", "snapshots", "published",
                  title=f"{len(rows)} documents")
    for r in rows:
        urls = r["urls"][0] + (f" (+{len(r['urls']) - 1})" if len(r["urls"]) > 1 else "") if r["urls"] else ""
        table.add_row(str(r["id"]), r["city"], r["language"] or "", r["kind"] or "", (r["title"] or "")[:60], urls,
                      str(r["snapshots"]), str(r["published_on"] or ""))
    console.print(table)


@documents_app.command("show")
def documents_show(document: str = typer.Argument(..., help="document id or one of its URLs"),
                   full: bool = typer.Option(False, help="print the whole text"), as_json: bool = JsonOption) -> None:
    """Show a document: its URLs, snapshots, recent fetches and text."""
    from collector.documents import show_document
    from evidence.database import configured_session

    with configured_session() as s:
        doc = show_document(s, document)
    if as_json:
        emit_json(doc)
        return
    console.print(f"[bold]document {doc['id']}[/] {doc['city']} · {doc['language']} · {doc['title'] or ''}")
    for u in doc["urls"]:
        console.print(f"  {u['url']}  [dim]{u['last_outcome']} {u['last_checked_at']}[/]", highlight=False)
    table = Table("snapshot", "fetched", "url", "chars", "charset", "sha256 (raw)", title="snapshots")
    for s in doc["snapshots"]:
        table.add_row(str(s["id"]), str(s["fetched_at"])[:19], s["url"], str(s["chars"]), s["charset"] or "",
                      s["raw_sha256"][:16])
    console.print(table)
    fetches = Table("at", "url", "status", "outcome", "reason", title="recent fetches")
    for f in doc["fetches"]:
        fetches.add_row(str(f["at"])[:19], f["url"], str(f["status"] or ""), f["outcome"], f["reason"] or "")
    console.print(fetches)
    text = doc["text"] if full else doc["text"][:1500] + ("\n…" if len(doc["text"]) > 1500 else "")
    console.print(text, highlight=False, markup=False)


@documents_app.command("diff")
def documents_diff(url: str = typer.Argument(..., help="the URL whose versions to compare"),
                   old: int | None = typer.Option(None, "--from", help="older snapshot id (default: previous)"),
                   new: int | None = typer.Option(None, "--to", help="newer snapshot id (default: latest)"),
                   as_json: bool = JsonOption) -> None:
    """The text diff between two snapshots of a URL (by default its last two versions)."""
    from collector.documents import diff_url
    from evidence.database import configured_session

    with configured_session() as s:
        result = diff_url(s, url, old, new)
    if as_json:
        emit_json(result)
        return
    console.print(Syntax(result["diff"] or "(no text difference)", "diff", word_wrap=True))


@documents_app.command("fetches")
def documents_fetches(city: str | None = typer.Option(None, help="only this city"),
                      outcome: list[str] | None = typer.Option(None, help="only these outcomes, e.g. failed"),
                      crawl_id: int | None = typer.Option(None, "--crawl", help="only this crawl run"),
                      limit: int = typer.Option(200, help="newest first, at most this many"),
                      as_json: bool = JsonOption) -> None:
    """The fetch log: every attempt with its outcome and, for failures, the reason."""
    from collector.documents import list_fetches
    from evidence.database import configured_session

    with configured_session() as s:
        rows = list_fetches(s, city, outcome, crawl_id, limit)
    if as_json:
        emit_json(rows)
        return
    table = Table("at", "crawl", "city", "url", "status", "outcome", "reason", title=f"{len(rows)} fetches")
    for r in rows:
        table.add_row(str(r["at"])[:19], str(r["crawl"] or ""), r["city"], r["url"], str(r["status"] or ""),
                      r["outcome"], r["reason"] or "")
    console.print(table)
