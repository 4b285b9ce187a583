"""`evidence worker`, and `--distributed` on `crawl`, `index`, `propose` and `watch`.

The flag is added to each command where the app assembles the CLI (the commands live in layers below,
which cannot know of the queue): given, or with `jobs.broker_url` set, the command enqueues its tasks and
follows them; `--in-process` (or no broker) runs it as before.
"""

from __future__ import annotations

import functools
import inspect
import os
import socket
from collections.abc import Callable

import typer
from rich.table import Table

from evidence.errors import EvidenceError
from evidence.output import console, emit_json, errors
from evidence.record import Job
from evidence.settings import Settings, load_settings

DistributedOption = typer.Option(None, "--distributed/--in-process",
                                 help="enqueue the tasks for `evidence worker`s and follow them (default: when "
                                      "EVIDENCE_JOBS_BROKER_URL is set)")


def worker(concurrency: int | None = typer.Option(None, help="tasks at once (processes); default jobs.concurrency"),
           queue: str | None = typer.Option(None, help="the queue to take tasks from; default jobs.queue"),
           loglevel: str = typer.Option("INFO", help="the worker's log level")) -> None:
    """Run a worker: take crawl, index, propose and watch tasks from the queue until stopped."""
    from app.jobs.queue import configure

    settings = load_settings()
    chosen = queue or settings.jobs.queue
    app = configure(settings.model_copy(update={"jobs": settings.jobs.model_copy(update={"queue": chosen})}))
    app.worker_main(["worker", "--queues", chosen, "--concurrency", str(concurrency or settings.jobs.concurrency),
                     "--hostname", f"evidence-{os.getpid()}@{socket.gethostname()}", "--loglevel", loglevel,
                     "--without-gossip", "--without-mingle"])


def distributable(command: Callable, enqueue: Callable[[Settings, dict], None]) -> Callable:
    """`command` with a `--distributed/--in-process` flag: distributed, `enqueue(settings, its arguments)` runs
    instead of it. A group's callback (`index`, `watch`) with a sub-command called runs as it is."""
    signature = inspect.signature(command)
    flag = inspect.Parameter("distributed", inspect.Parameter.KEYWORD_ONLY, default=DistributedOption,
                             annotation="bool | None")

    @functools.wraps(command)
    def wrapper(**arguments):
        distributed = arguments.pop("distributed")
        context = arguments.get("ctx")
        if context is not None and context.invoked_subcommand:
            return command(**arguments)
        settings = load_settings()
        if distributed is None:
            distributed = settings.jobs.broker_url is not None
        if not distributed:
            return command(**arguments)
        return enqueue(settings, arguments)

    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), flag])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**command.__annotations__, "distributed": "bool | None"}
    return wrapper


def show(jobs: list[Job], as_json: bool, title: str) -> None:
    """What each task did; exit 1 when any failed."""
    failed = [job for job in jobs if job.state == "failed"]
    if as_json:
        emit_json({"jobs": [{"key": j.key, "kind": j.kind, "state": j.state, "attempts": j.attempts,
                             "worker": j.worker, "result": j.result, "error": j.error} for j in jobs],
                   "done": len(jobs) - len(failed), "failed": len(failed)})
    else:
        table = Table("task", "state", "attempts", "worker", "result", title=title)
        for j in jobs:
            outcome = j.error if j.state == "failed" else ", ".join(f"{k} {v}" for k, v in j.result.items())
            table.add_row(j.key, j.state, str(j.attempts), j.worker or "", outcome or "")
        console.print(table)
        console.print(f"{len(jobs) - len(failed)} task(s) done, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


def _follower(as_json: bool):
    return None if as_json else errors


def crawl(settings: Settings, arguments: dict) -> None:
    from app.jobs.enqueue import crawl_units, run

    units = crawl_units(settings, arguments["edition"], arguments["city"], arguments["sources_file"], arguments,
                        arguments["sample"], arguments["restart"])
    jobs = run(settings, "crawl", units, _follower(arguments["as_json"]))
    show(jobs, arguments["as_json"], f"crawl of {arguments['edition']}: a task per city")


def index(settings: Settings, arguments: dict) -> None:
    from app.jobs.enqueue import index_units, run

    jobs = run(settings, "index", index_units(settings, arguments["model"]), _follower(arguments["as_json"]))
    show(jobs, arguments["as_json"], "index: a task per batch of snapshots")


def propose(settings: Settings, arguments: dict) -> None:
    from app.jobs.enqueue import propose_units, run

    options = {k: arguments[k] for k in ("method", "rate", "timeout", "attempts", "budget", "structured")}
    units = propose_units(arguments["edition"], arguments["city"], arguments["indicator"], options)
    jobs = run(settings, "propose", units, _follower(arguments["as_json"]))
    show(jobs, arguments["as_json"], f"proposals for {arguments['edition']}: a task per city × indicator")


def watch(settings: Settings, arguments: dict) -> None:
    from app.jobs.enqueue import watch_pass

    if arguments["every"]:
        raise EvidenceError("--every runs in-process only: schedule `evidence watch --distributed` instead")
    flags = {k: arguments[k] for k in ("delay", "timeout", "retries") if arguments[k] is not None}
    jobs = watch_pass(settings, arguments["everything"], settings.crawl.model_copy(update=flags),
                      not arguments["no_notify"], _follower(arguments["as_json"]))
    if not jobs and not arguments["as_json"]:
        console.print("no source is due; nothing to do")
    show(jobs, arguments["as_json"], "watch pass: a task per step")
