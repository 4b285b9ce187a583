"""Distributed runs: real `evidence worker` processes on the real RabbitMQ of this machine, real PostgreSQL, a
real Chroma server and the sample sites on loopback. Each test has a queue of its own, so parallel runs do not
take each other's tasks; a worker killed mid-task has its task delivered again, and nothing is recorded twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from chat_server import ChatServer, cite_first_passage
from kombu import Connection
from sqlalchemy import func, select
from test_proposer_offline import MOSCOW, indexed
from test_vectorstore import free_port

from collector.server import SampleServer
from evidence.database import session_scope
from evidence.record import Chunk, Crawl, Fetch, Job, Page, Proposal, Snapshot
from watch.passes import STEPS

BROKER = os.environ.get("EVIDENCE_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
INDICATORS = ["wired-network", "wireless-network", "public-health", "emergency-system", "government-service",
              "data-flow", "blockchain"]
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def queue():
    """A queue of this test's own, deleted afterwards."""
    name = f"evidence-test-{uuid.uuid4().hex[:10]}"
    yield name
    with Connection(BROKER) as conn:
        conn.default_channel.queue_delete(name)


class Workers:
    """`evidence worker` processes, each in its own process group (killed whole, as a machine going down)."""

    def __init__(self, env: dict, cwd: Path):
        self.env, self.cwd, self.running = env, cwd, []

    def start(self) -> subprocess.Popen:
        log = open(self.cwd / f"worker-{len(self.running)}.log", "w")  # noqa: SIM115  (closed with the process)
        child = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=self.env, cwd=self.cwd,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append(child)
        return child

    def kill(self, child: subprocess.Popen) -> None:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()

    def stop(self) -> None:
        for child in self.running:
            if child.poll() is None:
                self.kill(child)


@pytest.fixture
def workers(tmp_path):
    made: list[Workers] = []

    def make(env: dict) -> Workers:
        made.append(Workers(env, tmp_path))
        return made[-1]

    yield make
    for w in made:
        w.stop()


def _env(settings, queue: str, **extra) -> dict:
    return {**os.environ, "EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_DATABASE_URL": settings.database,
            "EVIDENCE_EMBEDDING_MODEL": "use-multilingual", "EVIDENCE_JOBS_BROKER_URL": BROKER,
            "EVIDENCE_JOBS_QUEUE": queue, "EVIDENCE_JOBS_BACKOFF": "0.5", "COLUMNS": "200", **extra}


def _jobs(database: str) -> list[Job]:
    with session_scope(database) as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def test_a_worker_killed_mid_task_has_its_task_redelivered_and_nothing_is_recorded_twice(tmp_path, database_url,
                                                                                         queue, workers):
    settings = indexed(tmp_path, database_url, "moscow", "ru", MOSCOW)
    with ChatServer(fallback=cite_first_passage, latency=1.0) as server:
        env = _env(settings, queue, EVIDENCE_LLM_BASE_URL=server.base_url, EVIDENCE_LLM_MODEL="scripted-model",
                   OPENAI_API_KEY="sk-test")
        pool = workers(env)
        first = pool.start()
        command = [sys.executable, "-m", "app.cli", "propose", "--edition", "g20-2023", "--city", "moscow",
                   *[a for i in INDICATORS for a in ("--indicator", i)], "--distributed", "--json"]
        enqueuer = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(j.state == "done" for j in _jobs(settings.database)) < 2:
            time.sleep(0.1)
        while time.monotonic() < deadline and not any(j.state == "running" for j in _jobs(settings.database)):
            time.sleep(0.05)
        interrupted = next(j.key for j in _jobs(settings.database) if j.state == "running")
        pool.kill(first)  # mid-task: its question is being asked of the model
        pool.start()
        out, err = enqueuer.communicate(timeout=240)
        asked = len(server.requests)
    assert enqueuer.returncode == 0, err
    report = json.loads(out)
    assert report["done"] == len(INDICATORS) and report["failed"] == 0
    attempts = {j["key"]: j["attempts"] for j in report["jobs"]}
    assert attempts[interrupted] == 2  # delivered again to the second worker
    workers_seen = {j["worker"] for j in report["jobs"]}
    assert len(workers_seen) == 2
    with session_scope(settings.database) as s:
        per_indicator = dict(s.execute(select(Proposal.indicator, func.count()).group_by(Proposal.indicator)).all())
    assert per_indicator == dict.fromkeys(INDICATORS, 1)
    assert len(INDICATORS) <= asked <= len(INDICATORS) + 1  # only the killed task's question was asked twice


def _chroma(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(tmp_path / "srv"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.timeout(900)  # four steps of a pass, each a whole command, on workers sharing 2 cores with the suite
def test_crawl_index_and_propose_an_edition_on_two_workers(tmp_path, database_url, queue, workers):
    from evidence.settings import Settings

    chroma, chroma_url = _chroma(tmp_path)
    cities = ["berlin", "london", "moscow", "paris"]
    try:
        with SampleServer(slow_seconds=30) as sample:
            sources = sample.write_sources(tmp_path / "sources.yaml")
            settings = Settings(data_dir=tmp_path / "data", database_url=database_url, chroma_url=chroma_url)
            env = _env(settings, queue, EVIDENCE_CHROMA_URL=chroma_url, EVIDENCE_CRAWL_TIMEOUT="3",
                       EVIDENCE_CRAWL_RETRIES="1", EVIDENCE_CRAWL_DELAY="0", EVIDENCE_CRAWL_BACKOFF="0.1",
                       EVIDENCE_JOBS_INDEX_BATCH="3", EVIDENCE_LLM_BASE_URL="")
            pool = workers(env)
            pool.start()
            pool.start()

            def evidence(*args: str) -> dict:
                done = subprocess.run([sys.executable, "-m", "app.cli", *args, "--distributed", "--json"], env=env,
                                      cwd=tmp_path, capture_output=True, text=True, timeout=800)
                assert done.returncode == 0, done.stderr + done.stdout
                return json.loads(done.stdout)

            crawled = evidence("crawl", "--edition", "g20-2023", "--sources", str(sources),
                               *[a for c in cities for a in ("--city", c)])
            indexed_report = evidence("index")
            proposed = evidence("propose", "--edition", "g20-2023", *[a for c in cities for a in ("--city", c)],
                                "--indicator", "wireless-network")
            watched = evidence("watch", "--all", "--no-notify")
    finally:
        chroma.terminate()
        chroma.wait(timeout=30)
    assert sorted(j["key"] for j in crawled["jobs"]) == [f"crawl:{c}" for c in cities]
    assert all(j["result"]["state"] == "finished" and j["result"]["new_snapshots"] > 0 for j in crawled["jobs"])
    assert indexed_report["failed"] == 0 and len(indexed_report["jobs"]) > 1  # batches of three snapshots
    assert sum(j["result"]["chunks_added"] for j in indexed_report["jobs"]) > 0
    assert proposed["done"] == len(cities)
    with session_scope(database_url) as s:
        crawls = s.scalars(select(Crawl)).all()
        fetch_per_url = s.execute(select(Fetch.crawl_id, Fetch.url, func.count()).group_by(Fetch.crawl_id, Fetch.url)
                                  .having(func.count() > 1)).all()
        pages = s.scalar(select(func.count()).select_from(Page))
        snapshots = s.scalar(select(func.count()).select_from(Snapshot))
        chunks = s.scalar(select(func.count()).select_from(Chunk))
        proposals = s.scalar(select(func.count()).select_from(Proposal))
    distributed = {j["result"]["crawl"] for j in crawled["jobs"]}
    assert sorted(c for run in crawls if run.id in distributed for c in run.cities) == cities  # a run per city
    assert fetch_per_url == [] and pages >= snapshots > 0
    assert chunks == sum(j["result"]["chunks_added"] for j in indexed_report["jobs"])  # each chunk made once
    steps = [s for s in STEPS if s != "done"]  # every step of a pass, submissions collected included
    assert [j["key"].rsplit(":", 1)[1] for j in watched["jobs"]] == steps  # a task per step, each queuing the next
    assert watched["failed"] == 0 and watched["jobs"][-1]["result"]["next"] is None
    assert proposals == sum(j["result"]["status"] == "proposed" for j in proposed["jobs"]) > 0
