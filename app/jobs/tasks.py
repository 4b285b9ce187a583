"""The tasks. Each one is the in-process command's own function on one unit: a city's sources, a batch of
snapshots, one question, one watch step. Each is idempotent, so a delivery again after a worker died (late
acknowledgement) redoes nothing that was recorded: a crawl resumes its run, an indexed snapshot is skipped,
a proposal is keyed by its input hash, a watch step already passed is not run again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from celery import Task

from app.jobs import progress
from app.jobs.queue import celery
from evidence.settings import CrawlLimits, Settings, load_settings


def _tracked(task: Task, batch: str, key: str, work: Callable[[Settings], dict]) -> dict:
    """Run `work` as the job (batch, key): its row shows it running, then done, or queued again for a retry
    after a back-off (doubling), or failed once the retries are spent."""
    settings = load_settings()
    earlier = progress.start(settings.database, batch, key)
    if earlier is not None:  # delivered again after it finished (the worker died before acknowledging)
        return earlier
    try:
        result = work(settings)
    except Exception as e:
        retries, attempt = settings.jobs.retries, task.request.retries
        error = f"{type(e).__name__}: {e}"
        if attempt < retries:
            progress.finish(settings.database, batch, key, "queued", error=error)
            raise task.retry(exc=e, countdown=settings.jobs.backoff * 2 ** attempt, max_retries=retries) from e
        progress.finish(settings.database, batch, key, "failed", error=error)
        raise
    progress.finish(settings.database, batch, key, "done", result)
    return result


@celery.task(bind=True, name="evidence.crawl")
def crawl_city(self: Task, batch: str, key: str, edition: str, sources: list[dict], limits: dict) -> dict:
    """Crawl one city's sources (the collector's run: a redelivered task resumes the run it started)."""
    from collector import crawl as crawling
    from collector.runs import CrawlSource

    def work(settings: Settings) -> dict:
        chosen = [CrawlSource(**{**s, "allowed_domains": tuple(s["allowed_domains"])}) for s in sources]
        summary = crawling.run(settings, edition, chosen, CrawlLimits(**limits))
        return {k: summary[k] for k in ("crawl", "state", "fetches", "new_snapshots", "lost")}

    return _tracked(self, batch, key, work)


@celery.task(bind=True, name="evidence.index")
def index_batch(self: Task, batch: str, key: str, snapshot_ids: list[int], model: str | None) -> dict:
    """Chunk, embed and add to the full-text index one batch of snapshots (those already done are skipped)."""
    from vectorstore.index import index_snapshots

    def work(settings: Settings) -> dict:
        report = index_snapshots(settings, model, show_progress=False, snapshot_ids=snapshot_ids)
        return asdict(report)

    return _tracked(self, batch, key, work)


@celery.task(bind=True, name="evidence.propose")
def propose_question(self: Task, batch: str, key: str, edition: str, city: str, indicator: str,
                     options: dict) -> dict:
    """Propose one city's level on one indicator (a proposal already made from the same inputs is reused)."""
    from review.proposer.run import questions

    def work(settings: Settings) -> dict:
        run = proposal_run(settings, options)
        # the claim is this task's, whichever worker runs it: a redelivered task (its worker lost, or an attempt
        # that failed and is retried) takes up its own claim instead of waiting for it to lapse
        run.holder = f"task:{self.request.id}"
        outcome = run.run(questions(edition, [city], [indicator])).outcomes[0]
        if outcome.status == "failed":
            raise RuntimeError(outcome.error or "the proposer failed")
        return {"status": outcome.status, "level": outcome.level, "proposal": outcome.proposal_id}

    return _tracked(self, batch, key, work)


def proposal_run(settings: Settings, options: dict):
    """The proposal run the command would make, from the options it was given (`review.proposer.cli`)."""
    from review.proposer.cli import proposal_run as make

    return make(settings, options["method"], 1, options["rate"], options["timeout"], options["attempts"],
                options["budget"], options["structured"], quiet=True)


@celery.task(bind=True, name="evidence.watch")
def watch_step(self: Task, batch: str, key: str, pass_id: int, step: str, limits: dict, notify: bool) -> dict:
    """Run one step of a watch pass; the next step is queued before this one is marked done."""
    from watch.passes import run_step

    def work(settings: Settings) -> dict:
        following = run_step(settings, pass_id, step, CrawlLimits(**limits), notify)
        if following is not None:
            submit_watch_step(settings, batch, pass_id, following, limits, notify)
        return {"pass": pass_id, "step": step, "next": following}

    return _tracked(self, batch, key, work)


def submit_watch_step(settings: Settings, batch: str, pass_id: int, step: str, limits: dict, notify: bool) -> None:
    """Queue a watch step, once: a step delivered again after it queued the next one queues nothing more."""
    from evidence.database import insert_unless_present, session_scope
    from evidence.record import Job

    key = f"watch:{pass_id}:{step}"
    with session_scope(settings.database) as s:
        added = insert_unless_present(s, Job, {"batch": batch, "kind": "watch", "key": key, "state": "queued",
                                               "attempts": 0, "result": {}}, ["batch", "key"])
    if added is not None:
        watch_step.apply_async((batch, key, pass_id, step, limits, notify), queue=settings.jobs.queue)
