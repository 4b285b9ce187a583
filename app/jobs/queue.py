"""The Celery application: late acknowledgement (a task taken by a worker that dies is delivered again), one
message at a time per worker process, JSON messages, no result backend (the jobs table is the progress)."""

from __future__ import annotations

from celery import Celery

from evidence.errors import EvidenceError
from evidence.settings import Settings

celery = Celery("evidence", include=["app.jobs.tasks"])


def configure(settings: Settings) -> Celery:
    """The Celery application set up from the settings' `jobs` section (an error when no broker is configured)."""
    if not settings.jobs.broker_url:
        raise EvidenceError("no broker configured: set EVIDENCE_JOBS_BROKER_URL (e.g. amqp://guest:guest@127.0.0.1"
                            ":5672//) to distribute, or run without --distributed")
    celery.conf.update(
        broker_url=settings.jobs.broker_url,
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.jobs.queue,
        task_acks_late=True,  # acknowledged when done, so a killed worker's task goes back to the queue
        task_reject_on_worker_lost=True,  # … also when only its pool process died
        worker_prefetch_multiplier=1,  # a worker holds no more tasks than it runs: the others stay for others
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    return celery
