"""Shared fixtures: real databases (SQLite and PostgreSQL), paths to the shipped data."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("EVIDENCE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database on each backend: SQLite in a temp dir, a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'evidence.db'}"
        return
    name = f"evidence_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from evidence.database import open_engine

        open_engine.cache_clear()  # engines die with the cache; FORCE closes what they left open
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A clean data directory and working directory, so no test touches the developer's data/."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "data"))
    for var in ("EVIDENCE_DATABASE_URL", "EVIDENCE_CHROMA_URL", "EVIDENCE_LLM_BASE_URL", "EVIDENCE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "data"
