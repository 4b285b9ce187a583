"""`evidence crawl`: choose the sources, start or resume a run, drive the crawl process, show progress.

The crawl itself runs in a child process (`collector.engine`): Twisted's reactor cannot be restarted, and a
child keeps the command usable from the demo and from tests that call it more than once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from collector import runs
from collector.runs import CrawlSource
from collector.scope_lock import scope_lock
from evidence.database import session_scope
from evidence.datafile import read_yaml, validate
from evidence.errors import DataError, EvidenceError
from evidence.settings import CrawlLimits, Settings
from evidence.vocabulary import Slug, Source

# loopback answers in microseconds and its slow page must not hold the demo for minutes
SAMPLE_LIMITS = {"delay": 0.0, "timeout": 3.0, "retries": 1, "backoff": 0.5}


class SourceEntry(Source):
    city: Slug


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[SourceEntry]


def crawl_source(city: str, source: Source) -> CrawlSource:
    host = urlsplit(source.url).hostname or ""
    domains = tuple(source.allowed_domains) or (host.removeprefix("www."),)
    return CrawlSource(city, source.url, domains, source.allow_private, source.kind, schedule=source.schedule,
                       depth=source.depth, pages=source.pages, languages=city_languages(city))


def city_languages(city: str) -> tuple[str, ...]:
    """The registry's languages of a city as OCR reads its scans; none for a city it does not know."""
    from collector.ocr import city_scripts
    from sources import load_registry

    registry = load_registry()
    if city not in registry.ids():
        return ()
    known = registry.get(city)
    return city_scripts(known.languages, known.country)


def registry_sources(cities: list[str]) -> list[CrawlSource]:
    """The registry's sources of these cities (chosen for the edition by `edition_cities`)."""
    from sources import load_registry

    registry = load_registry()
    return [crawl_source(c, s) for c in cities for s in registry.get(c).sources]


def file_sources(path: Path, cities: list[str]) -> list[CrawlSource]:
    """Sources from a YAML file (`sources: [{city, url, allowed_domains, allow_private, ...}]`), such as the one
    `evidence sample serve` writes, limited to the given cities."""
    entries = validate(SourcesFile, read_yaml(path), path).sources
    return [crawl_source(e.city, e) for e in entries if e.city in cities]


def edition_cities(edition: str, wanted: list[str] | None) -> list[str]:
    """The edition's cities, or the wanted ones after checking they belong to it."""
    from frameworks import load_framework
    from sources import load_registry

    load_framework(edition)  # an unknown edition is an error, not an empty crawl
    members = [c.id for c in load_registry().in_edition(edition)]
    for city in wanted or []:
        if city not in members:
            raise DataError("--city", city, f"not a city of edition {edition}")
    return list(wanted) if wanted else members


def run(settings: Settings, edition: str, sources: list[CrawlSource], limits: CrawlLimits,
        restart: bool = False, console: Console | None = None) -> dict:
    """Crawl the sources (resuming this scope's unfinished run if there is one); returns the run's summary."""
    if not sources:
        raise EvidenceError(f"no sources to crawl for edition {edition}")
    database = settings.database
    with session_scope(database) as session:
        sources = runs.record_sources(session, sources)
    with scope_lock(database, runs.scope_key(edition, sources)):
        return _run_held(settings, edition, sources, limits, restart, console)


def _run_held(settings: Settings, edition: str, sources: list[CrawlSource], limits: CrawlLimits, restart: bool,
              console: Console | None) -> dict:
    database, jobs = settings.database, settings.data_dir.resolve() / "crawls"
    with session_scope(database) as session:
        crawl, resumed = runs.begin(session, edition, sources, jobs, restart)
        crawl_id = crawl.id
    folder = runs.job_dir(jobs, crawl_id)
    folder.mkdir(parents=True, exist_ok=True)
    # the database URL (its password) stays out of the plan file: the crawl process reads it on its stdin
    plan = {"crawl_id": crawl_id, "data_dir": str(settings.data_dir.resolve()),
            "jobdir": str(folder / "jobdir"), "log_file": str(folder / "crawl.log"),
            "sources": [s.plan(limits) for s in sources], "limits": limits.model_dump()}
    (folder / "plan.json").write_text(json.dumps(plan, indent=1), encoding="utf-8")
    over_budget: list[dict] = []
    code = _drive(folder / "plan.json", database, f"crawl {crawl_id}" + (" (resumed)" if resumed else ""), console,
                  over_budget)
    with session_scope(database) as session:
        result = runs.summary(session, crawl_id)
    result["over_budget"] = over_budget
    if code != 0 and result["state"] == "running":
        raise EvidenceError(f"crawl {crawl_id} stopped with exit code {code}; see {folder / 'crawl.log'}")
    if result["state"] == "finished":
        shutil.rmtree(folder / "jobdir", ignore_errors=True)
    result["log"] = str(folder / "crawl.log")
    return result


def _drive(plan: Path, database: str, title: str, console: Console | None, over_budget: list[dict]) -> int:
    """Run the crawl process (handing it the database URL on stdin), turning its JSON-line events into a
    progress bar; the sources that reached their page budget are added to `over_budget`."""
    child = subprocess.Popen([sys.executable, "-m", "collector.engine", str(plan)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
    assert child.stdin is not None and child.stdout is not None  # both are pipes
    child.stdin.write(database + "\n")
    child.stdin.close()
    outcomes: Counter = Counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=console is None) as progress:
        task = progress.add_task(title, total=0)
        try:
            for line in child.stdout:
                _show(progress, task, title, outcomes, line, over_budget)
        except KeyboardInterrupt:  # the crawl process got the same Ctrl-C: it stops cleanly and can resume
            for line in child.stdout:
                _show(progress, task, title, outcomes, line, over_budget)
    return child.wait()


def _show(progress: Progress, task, title: str, outcomes: Counter, line: str, over_budget: list[dict]) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        return
    if event.get("event") == "budget":
        over_budget.append({k: event[k] for k in ("city", "url", "pages")})
    if event.get("event") == "queued":
        progress.update(task, total=(progress.tasks[task].total or 0) + 1)
    elif event.get("event") == "started" and event.get("resumed_pages"):
        progress.update(task, description=f"{title}: {event['resumed_pages']} pages done before")
    elif event.get("event") == "skipped":
        progress.update(task, advance=1)
    elif event.get("event") == "recorded":
        outcomes[event["outcome"]] += 1
        tally = " · ".join(f"{name} {n}" for name, n in sorted(outcomes.items()))
        progress.update(task, advance=1, description=f"{title}  [dim]{tally}[/]")

