"""Commands: `evidence cities add`, `evidence sources add|import`: the user's registry folder, by command."""

from __future__ import annotations

from pathlib import Path

import typer

from evidence.errors import DataError
from evidence.output import JsonOption, console, emit_json

sources_app = typer.Typer(help="Sources of the registry's cities: add them to your own registry folder.",
                          no_args_is_help=True)


def _split(values: str) -> list[str]:
    return [v for v in values.replace(",", " ").split() if v]


def cities_add(city_id: str = typer.Argument(..., help="a new id: lower-case ASCII words joined by hyphens"),
               country: str = typer.Option(..., help="ISO 3166-1 alpha-2 code, e.g. SG"),
               en: str = typer.Option(..., help="the English name"),
               zh: str = typer.Option(..., help="the Chinese name as the report prints it"),
               local: str = typer.Option(..., help="the name in the city's main local language"),
               languages: str = typer.Option(..., help="ISO 639-1 codes the government publishes in, main one "
                                                       "first, e.g. 'en,zh,ms,ta'"),
               editions: str = typer.Option(..., help="editions the city is in, e.g. asia-2023"),
               as_json: bool = JsonOption) -> None:
    """Add a city to your registry folder (the first of EVIDENCE_REGISTRY_DIRS), checked as the YAML loader checks it."""
    from evidence.settings import load_settings
    from sources.user import add_city

    city = {"id": city_id, "name": {"en": en, "zh": zh, "local": local}, "languages": _split(languages),
            "editions": _split(editions)}
    path = add_city(load_settings().registry_dirs, country, city)
    if as_json:
        emit_json({"city": city_id, "file": str(path)})
        return
    console.print(f"added city {city_id} to {path}; give it a source with `evidence sources add {city_id} URL`")


@sources_app.command("add")
def sources_add(city: str = typer.Argument(..., help="the city's id"),
                url: str = typer.Argument(..., help="the start page, http(s)://..."),
                kind: str = typer.Option("portal", help="portal (the site, to --depth), list (a page and the "
                                                        "documents it links to) or seed (that one document)"),
                provenance: str | None = typer.Option(None, help="whose site it is and how you know (required)"),
                depth: int | None = typer.Option(None, help="links followed from the start page (default: the "
                                                            "kind's: seed 0, list 1, portal setting crawl.depth)"),
                pages: int | None = typer.Option(None, help="pages per crawl at most (default setting "
                                                            "crawl.source_pages; a seed is 1)"),
                allowed_domain: list[str] | None = typer.Option(None, "--allowed-domain", help="a domain the crawl "
                                                                "may follow links into (repeatable; default the URL's)"),
                schedule: str | None = typer.Option(None, help="how often `evidence watch` re-crawls it, e.g. 1d"),
                allow_private: bool = typer.Option(False, "--allow-private", help="allow a loopback or private "
                                                   "address (a test site; refused by default)"),
                as_json: bool = JsonOption) -> None:
    """Add a source to a city, in your registry folder, checked as the YAML loader checks it."""
    from evidence.settings import load_settings
    from sources import load_registry
    from sources.user import add_sources

    registry = load_registry()
    if city not in registry.ids():
        raise DataError("CITY", city, "no such city in the registry (add it with `evidence cities add`)")
    options = {"kind": kind, "provenance": provenance, "depth": depth, "pages": pages,
               "allowed_domains": allowed_domain or None, "schedule": schedule,
               "allow_private": allow_private or None}
    source = {"url": url, **{k: v for k, v in options.items() if v is not None}}
    paths = add_sources(load_settings().registry_dirs, registry, [(city, source)])
    if as_json:
        emit_json({"city": city, "source": source, "files": [str(p) for p in paths]})
        return
    console.print(f"added {kind} source {url} to {city} in {paths[0]}")


@sources_app.command("import")
def sources_import(path: Path = typer.Argument(..., help="a .csv (header: city,url,kind,provenance,depth,pages,"
                                                         "allowed_domains,...) or a .yaml (sources: [...]) file"),
                   as_json: bool = JsonOption) -> None:
    """Add every source of a file to your registry folder; one bad row rejects the whole file, naming each problem."""
    from evidence.settings import load_settings
    from sources import load_registry
    from sources.imports import checked_rows
    from sources.user import add_sources

    registry = load_registry()
    rows = checked_rows(path, registry)
    paths = add_sources(load_settings().registry_dirs, registry, rows)
    if as_json:
        emit_json({"imported": len(rows), "files": [str(p) for p in paths]})
        return
    console.print(f"imported {len(rows)} sources from {path} into {', '.join(map(str, paths))}")
