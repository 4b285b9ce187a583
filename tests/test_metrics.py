"""`/health` and `/metrics` of the web app, scraped over HTTP from a real server on loopback: the Prometheus text
parses, and its figures are the record's (jobs, fetches, pages, proposals) and the real broker's queue."""

from __future__ import annotations

import uuid

import httpx
import pytest
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from test_jobs import BROKER
from test_review_record import seed
from test_review_web import Running
from test_vectorstore import free_port

from evidence.database import session_scope
from evidence.record import Fetch, Job, Page, Proposal
from evidence.settings import Jobs, Settings


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture
def queue():
    name = f"evidence-test-{uuid.uuid4().hex[:10]}"
    with Connection(BROKER) as conn:
        producer = conn.Producer()
        for n in range(3):  # three tasks waiting, no worker
            producer.publish({"n": n}, routing_key=name, declare=[conn.SimpleQueue(name).queue])
        yield name
        conn.default_channel.queue_delete(name)


def test_metrics_show_the_record_and_the_queue(tmp_path, queue):
    database = f"sqlite:///{tmp_path / 'evidence.db'}"
    seed(database)
    with session_scope(database) as s:
        s.add_all([Job(batch="b1", kind="crawl", key=f"crawl:{c}", state=state)
                   for c, state in (("berlin", "done"), ("paris", "done"), ("tokyo", "failed"))])
        s.add(Page(url="http://berlin.example/", city="berlin"))
        s.add_all([Fetch(url="http://berlin.example/", city="berlin", outcome=o)
                   for o in ("new-snapshot", "unchanged", "failed")])
    with session_scope(database) as s:
        proposals = s.scalar(select(func.count()).select_from(Proposal).where(Proposal.stale.is_(False)))
        pages = s.scalar(select(func.count()).select_from(Page))
    settings = Settings(data_dir=tmp_path / "data", database_url=database, jobs=Jobs(broker_url=BROKER, queue=queue))
    with Running(settings) as running:
        assert httpx.get(f"{running.url}/health", timeout=30).text == "ok\n"
        found = scrape(running.url)
    assert found[("evidence_jobs", (("kind", "crawl"), ("state", "done")))] == 2
    assert found[("evidence_jobs", (("kind", "crawl"), ("state", "failed")))] == 1
    assert found[("evidence_fetches_total", (("outcome", "unchanged"),))] == 1
    assert found[("evidence_pages", ())] == pages
    assert sum(v for (name, labels), v in found.items()
               if name == "evidence_proposals" and ("stale", "false") in labels) == proposals > 0
    assert found[("evidence_queue_up", (("queue", queue),))] == 1
    assert found[("evidence_queue_messages", (("queue", queue),))] == 3
    assert found[("evidence_queue_consumers", (("queue", queue),))] == 0


def test_a_broker_that_does_not_answer_is_a_metric_not_a_failed_scrape(tmp_path):
    database = f"sqlite:///{tmp_path / 'evidence.db'}"
    seed(database)
    nobody = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    settings = Settings(data_dir=tmp_path / "data", database_url=database, jobs=Jobs(broker_url=nobody))
    with Running(settings) as running:
        found = scrape(running.url)
    assert found[("evidence_queue_up", (("queue", "evidence"),))] == 0
    assert ("evidence_queue_messages", (("queue", "evidence"),)) not in found


def test_doctor_asks_the_broker_and_names_one_that_does_not_answer(data_dir, monkeypatch, queue):
    from app.doctor import checks

    monkeypatch.setenv("EVIDENCE_JOBS_BROKER_URL", BROKER)
    monkeypatch.setenv("EVIDENCE_JOBS_QUEUE", queue)
    found = {c["check"]: c for c in checks()}
    assert found["job broker"]["ok"] and "3 task(s) waiting" in found["job broker"]["detail"]
    assert "guest:guest" not in found["job broker"]["detail"]
    assert found["storage"]["ok"] and "folders in" in found["storage"]["detail"]
    monkeypatch.setenv("EVIDENCE_JOBS_BROKER_URL", f"amqp://guest:guest@127.0.0.1:{free_port()}//")
    assert not {c["check"]: c for c in checks()}["job broker"]["ok"]
