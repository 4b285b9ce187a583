"""`evidence watch`: one pass over the sources that are due, step by step, resumable, never two at once.

Steps, each recorded on the pass row before the next starts: crawl (the collector's conditional
re-fetch; its sitemaps and listing pages find new documents; a killed crawl resumes by itself), attachments
(submitted evidence collected, its items proposed again and sent back to review), index,
classify, consequences, notify. A pass that died is resumed by the next one at the step it reached;
every step is idempotent (changes and re-queued items are keyed by pass, proposals by input hash).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.console import Console
from sqlalchemy import func, select

from collector import crawl as crawling
from collector.runs import editions_of, from_row
from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import Fetch, SourceRow, WatchPass, now
from evidence.settings import CrawlLimits, Settings
from review.attachments import pending
from review.submissions import collect_pending
from vectorstore.index import index_snapshots
from watch.consequences import classify_pass, requeue_pass
from watch.lock import PassLock, WatchBusy, aware
from watch.notify import notify_pass, retry_notifications, skip_notification
from watch.report import pass_row, pass_summary

STEPS = ("crawl", "attachments", "index", "classify", "consequences", "notify", "done")
EVERY = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def interval(text: str, where: str = "--every") -> timedelta:
    """'7d', '12h', '30m', '2w' as a timedelta."""
    match = EVERY.match(text.strip())
    if not match or int(match[1]) == 0:
        raise DataError(where, text, "expected a count and a unit, e.g. 7d, 12h, 30m or 2w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def due_sources(session, everything: bool = False, at: datetime | None = None) -> list[SourceRow]:
    """Sources whose schedule has elapsed since they were last crawled (by a watch pass or any crawl)."""
    at = at or now()
    last_fetch = dict(session.execute(select(Fetch.city, func.max(Fetch.at)).group_by(Fetch.city)).all())
    out = []
    for row in session.scalars(select(SourceRow).order_by(SourceRow.id)):
        last = row.last_crawled_at or last_fetch.get(row.city)
        if everything or last is None or aware(last) + interval(row.schedule or "7d", f"source {row.url}: schedule") <= at:
            out.append(row)
    return out


def run_pass(settings: Settings, everything: bool = False, limits: CrawlLimits | None = None,
             console: Console | None = None, notify: bool = True) -> dict:
    """One watch pass (or the resumption of one that died). Raises WatchBusy when another pass runs."""
    with PassLock(settings.database) as lock:
        if notify:  # a webhook or mail server that was down last time hears of those passes now
            retry_notifications(settings)
        pass_id = _open(settings, everything)
        if pass_id is None:
            return {"pass": None, "state": "nothing-due", "flagged": [], "recovered_lock": lock.recovered}
        lock.mark(pass_id)
        run = PassRun(settings, pass_id, limits or settings.crawl, console, notify)
        for step in _remaining(settings, pass_id):
            _STEP[step](run)
            _advance(settings, pass_id, step)
        with session_scope(settings.database) as s:
            return {**pass_summary(s, pass_id), "recovered_lock": lock.recovered}


def run_step(settings: Settings, pass_id: int, step: str, limits: CrawlLimits | None = None,
             notify: bool = True) -> str | None:
    """One step of a pass, under the pass lock (a distributed watch runs each as a task); a step the pass is
    already past is not run again. Returns the pass's next step, None once it is finished."""
    with PassLock(settings.database) as lock:
        lock.mark(pass_id)
        remaining = _remaining(settings, pass_id)
        if remaining[:1] == [step]:
            _STEP[step](PassRun(settings, pass_id, limits or settings.crawl, None, notify))
            _advance(settings, pass_id, step)
            remaining = remaining[1:]
    return remaining[0] if remaining else None


def open_pass(settings: Settings, everything: bool = False) -> tuple[int, str] | None:
    """The pass to run and the step it is at: an unfinished one, else a new one over the due sources (None)."""
    with PassLock(settings.database):
        pass_id = _open(settings, everything)
    if pass_id is None:
        return None
    remaining = _remaining(settings, pass_id)
    return (pass_id, remaining[0]) if remaining else None


def _open(settings: Settings, everything: bool) -> int | None:
    """The unfinished pass to resume, else a new pass over the due sources (None when nothing is due)."""
    with session_scope(settings.database) as s:
        unfinished = s.scalars(select(WatchPass).where(WatchPass.state == "running").order_by(WatchPass.id)).first()
        if unfinished is not None:
            return unfinished.id
        due = due_sources(s, everything)
        if not due and not pending(s):  # submitted evidence is collected even when no source is due
            return None
        row = WatchPass(sources=[r.id for r in due])
        s.add(row)
        s.flush()
        return row.id


def _remaining(settings: Settings, pass_id: int) -> list[str]:
    with session_scope(settings.database) as s:
        step = pass_row(s, pass_id).step
    return list(STEPS[STEPS.index(step):-1])


def _advance(settings: Settings, pass_id: int, step: str) -> None:
    with session_scope(settings.database) as s:
        row = pass_row(s, pass_id)
        row.step = STEPS[STEPS.index(step) + 1]
        if row.step == "done":
            row.state, row.finished_at = "finished", now()


@dataclass(frozen=True)
class PassRun:
    """What the steps of one pass run with."""

    settings: Settings
    pass_id: int
    limits: CrawlLimits
    console: Console | None
    notify: bool


def _crawl(run: PassRun) -> None:
    """Re-fetch the pass's sources, one crawl run per edition (a resumed pass resumes the same runs)."""
    settings = run.settings
    with session_scope(settings.database) as s:
        rows = s.scalars(select(SourceRow).where(SourceRow.id.in_(pass_row(s, run.pass_id).sources))).all()
        editions = editions_of(s, {r.city for r in rows})
    groups: dict[str, list[SourceRow]] = {}
    for r in rows:
        groups.setdefault(editions.get(r.city, "unknown"), []).append(r)
    for edition, group in sorted(groups.items()):
        # each with its own kind, depth and budget, not the run's default
        sources = [from_row(r, crawling.city_languages(r.city)) for r in group]
        result = crawling.run(settings, edition, sources, run.limits, console=run.console)
        with session_scope(settings.database) as s:
            row = pass_row(s, run.pass_id)
            row.crawls = sorted({*row.crawls, result["crawl"]})
            for source in s.scalars(select(SourceRow).where(SourceRow.id.in_([r.id for r in group]))):
                source.last_crawled_at = now()


def _attachments(run: PassRun) -> None:
    """Submitted evidence, collected with the collector's guards (a private address stays refused)."""
    collect_pending(run.settings, run.limits, console=run.console)


def _index(run: PassRun) -> None:
    index_snapshots(run.settings, show_progress=run.console is not None)


def _classify(run: PassRun) -> None:
    classify_pass(run.settings, run.pass_id)


def _consequences(run: PassRun) -> None:
    requeue_pass(run.settings, run.pass_id)


def _notify(run: PassRun) -> None:
    if run.notify:
        notify_pass(run.settings, run.pass_id)
    else:
        skip_notification(run.settings, run.pass_id)


_STEP = {"crawl": _crawl, "attachments": _attachments, "index": _index, "classify": _classify,
         "consequences": _consequences, "notify": _notify}


def every(settings: Settings, period: timedelta, limits=None, console: Console | None = None,
          passes: int | None = None, on_pass=None, everything: bool = False, notify: bool = True) -> None:
    """Run a pass, then another each `period` (a busy lock skips that turn); `passes` bounds the loop.
    `everything` and `notify` hold for every pass, as for one (`--all`, `--no-notify`)."""
    done = 0
    while passes is None or done < passes:
        started = time.monotonic()
        try:
            result = run_pass(settings, everything, limits, console, notify)
        except WatchBusy as e:
            result = {"state": "busy", "error": str(e)}
        if on_pass:
            on_pass(result)
        done += 1
        if passes is None or done < passes:
            time.sleep(max(0.0, period.total_seconds() - (time.monotonic() - started)))
