"""What `--distributed` does for each command: split the work into tasks, record a job row for each, send
them to the queue, then follow the rows until every task is done or failed."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Console
from sqlalchemy import select

from app.jobs import progress, tasks
from app.jobs.queue import configure
from evidence.database import session_scope
from evidence.errors import EvidenceError
from evidence.record import Job, Snapshot
from evidence.settings import CrawlLimits, Settings

CRAWL_FLAGS = ("timeout", "max_bytes", "retries", "backoff", "delay", "concurrency", "depth", "max_pages",
               "source_pages")


def submit(settings: Settings, kind: str, units: list[tuple[str, object, tuple]]) -> str:
    """Record a job row per (key, task, arguments) and send the tasks; returns the batch id."""
    configure(settings)
    batch = progress.new_batch()
    with session_scope(settings.database) as s:
        for key, _, _ in units:
            progress.add(s, batch, kind, key)
    for key, task, args in units:
        task.apply_async((batch, key, *args), queue=settings.jobs.queue)  # type: ignore[attr-defined]
    return batch


def run(settings: Settings, kind: str, units: list[tuple[str, object, tuple]], console: Console | None) -> list[Job]:
    if not units:
        raise EvidenceError(f"nothing to {kind}")
    return progress.follow(settings.database, submit(settings, kind, units), console)


def crawl_units(settings: Settings, edition: str, cities: list[str] | None, sources_file, flags: dict,
                sample: bool, restart: bool) -> list[tuple[str, object, tuple]]:
    """A task per city, with that city's sources (the registry's or a sources file's)."""
    from collector import crawl as crawling
    from collector.cli import chosen_limits

    if sample or restart:
        raise EvidenceError("--sample and --restart run in-process only: serve the sample with `evidence sample "
                            "serve` and crawl its sources file with --sources")
    chosen = crawling.edition_cities(edition, cities)
    sources = crawling.file_sources(sources_file, chosen) if sources_file else crawling.registry_sources(chosen)
    limits = chosen_limits(settings.crawl, {k: flags.get(k) for k in CRAWL_FLAGS}).model_dump()
    per_city: dict[str, list[dict]] = {}
    for source in sources:
        plan = {k: v for k, v in asdict(source).items() if k != "id"}
        per_city.setdefault(source.city, []).append(plan)
    return [(f"crawl:{city}", tasks.crawl_city, (edition, group, limits)) for city, group in sorted(per_city.items())]


def index_units(settings: Settings, model: str | None) -> list[tuple[str, object, tuple]]:
    """A task per batch of snapshots (`jobs.index_batch`), a document's snapshots in one batch (its latest one
    supersedes the others in the same task)."""
    with session_scope(settings.database) as s:
        rows = s.execute(select(Snapshot.id, Snapshot.document_id).order_by(Snapshot.document_id, Snapshot.id)).all()
    batches: list[list[int]] = []
    last_document = None
    for snapshot_id, document_id in rows:
        if not batches or (len(batches[-1]) >= settings.jobs.index_batch and document_id != last_document):
            batches.append([])
        batches[-1].append(snapshot_id)
        last_document = document_id
    return [(f"index:{ids[0]}-{ids[-1]}", tasks.index_batch, (ids, model)) for ids in batches]


def propose_units(edition: str, cities: list[str] | None, indicators: list[str] | None,
                  options: dict) -> list[tuple[str, object, tuple]]:
    """A task per city × indicator."""
    from review.proposer.run import questions

    return [(f"propose:{q.city.id}:{q.indicator.id}", tasks.propose_question,
             (edition, q.city.id, q.indicator.id, options)) for q in questions(edition, cities, indicators)]


def watch_pass(settings: Settings, everything: bool, limits: CrawlLimits, notify: bool,
               console: Console | None) -> list[Job]:
    """Open (or resume) a pass and run its steps as tasks, each queuing the next."""
    from watch.passes import open_pass

    configure(settings)
    opened = open_pass(settings, everything)
    if opened is None:
        return []
    pass_id, step = opened
    batch = progress.new_batch()
    tasks.submit_watch_step(settings, batch, pass_id, step, limits.model_dump(), notify)
    return progress.follow(settings.database, batch, console)
