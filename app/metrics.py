"""Prometheus metrics (`/metrics` of the web app), read from the shared record and the broker at each scrape:
every machine's workers write the record, so one scrape of any app shows the whole deployment (no
per-process counters to add up)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from evidence.database import session_scope
from evidence.record import Fetch, Job, Page, Proposal
from evidence.settings import Settings


class RecordCollector:
    """Jobs by kind and state, fetches by outcome, pages, proposals, and the broker's queue."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def collect(self):
        jobs = GaugeMetricFamily("evidence_jobs", "distributed tasks by kind and state", labels=["kind", "state"])
        fetches = CounterMetricFamily("evidence_fetches", "pages fetched, by outcome", labels=["outcome"])
        proposals = GaugeMetricFamily("evidence_proposals", "proposals in the record, by method and whether stale",
                                      labels=["method", "stale"])
        with session_scope(self.settings.database) as s:
            for kind, state, n in s.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)):
                jobs.add_metric([kind, state], n)
            for outcome, n in s.execute(select(Fetch.outcome, func.count()).group_by(Fetch.outcome)):
                fetches.add_metric([outcome], n)
            for method, stale, n in s.execute(select(Proposal.method, Proposal.stale, func.count())
                                              .group_by(Proposal.method, Proposal.stale)):
                proposals.add_metric([method, str(bool(stale)).lower()], n)
            pages = s.scalar(select(func.count()).select_from(Page)) or 0
        yield jobs
        yield fetches
        yield proposals
        yield GaugeMetricFamily("evidence_pages", "URLs in the record", value=pages)
        yield from self._queue()

    def _queue(self):
        """Messages waiting and consumers on the configured queue (none without a broker; `up` 0 unreachable)."""
        if not self.settings.jobs.broker_url:
            return
        name = self.settings.jobs.queue
        up = GaugeMetricFamily("evidence_queue_up", "whether the broker answered", labels=["queue"])
        try:
            waiting, consumers = queue_size(self.settings.jobs.broker_url, name)
        except Exception:  # a broker down is a metric, not a failed scrape
            up.add_metric([name], 0)
            yield up
            return
        up.add_metric([name], 1)
        yield up
        yield _family("evidence_queue_messages", "tasks waiting in the queue", name, waiting)
        yield _family("evidence_queue_consumers", "workers taking tasks from the queue", name, consumers)


def _family(metric: str, documentation: str, queue: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(metric, documentation, labels=["queue"])
    family.add_metric([queue], value)
    return family


def queue_size(broker_url: str, queue: str) -> tuple[int, int]:
    """(messages waiting, consumers) of a queue, asked of the broker without creating the queue."""
    from kombu import Connection

    with Connection(broker_url, connect_timeout=3) as conn:
        conn.connect()  # one attempt: an unreachable broker answers the scrape at once, as down
        try:
            declared = conn.default_channel.queue_declare(queue, passive=True)
        except conn.channel_errors:  # no such queue yet: nothing was ever sent to it
            return 0, 0
        return declared.message_count, declared.consumer_count


def registry_for(settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RecordCollector(settings))
    return registry
