"""Opening the record: SQLite in the data directory by default, PostgreSQL when the URL says so.

The schema is always brought to the newest Alembic revision on open, so a fresh data directory and an
old one behave the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from evidence.errors import DataError
from evidence.settings import load_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
Row = TypeVar("Row")
# the record's ids are INTEGER columns: PostgreSQL's int4 (and SQLite's 64-bit integer) refuse anything larger,
# so an id from a URL or the command line outside 1..ID_MAX names no row rather than failing the query
ID_MAX = 2**31 - 1


class NotInRecord(DataError):
    """A row looked up by its key that is not in the record (a stale id, or one removed underneath us)."""

    def __init__(self, table: str, key: object):
        super().__init__(table, f"#{key}", "not in the record")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the web app) do not block the crawler
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


class NulCharacter(DataError):
    """Text with a NUL character (\\x00), which PostgreSQL cannot store: named, rather than a database error."""


def refuse_nul(source: str, where: str, value: str | None) -> str | None:
    """Text a person typed, as it will be stored: one with a NUL is refused on every backend alike."""
    if value and "\x00" in value:
        raise NulCharacter(source, where, "contains a NUL character (\\x00), which cannot be stored")
    return value


def _refuse_nul(_conn, _cursor, statement: str, parameters, _context, executemany: bool) -> None:
    """Before PostgreSQL sees it: a NUL in any text parameter is refused, naming the table and the column."""
    rows = parameters if executemany else [parameters]
    for row in rows or ():
        values = row.items() if isinstance(row, dict) else enumerate(row or ())
        for name, value in values:
            if isinstance(value, str) and "\x00" in value:
                table = statement.split(" INTO ", 1)[-1].split(" ", 1)[0] if statement.startswith("INSERT") else "record"
                raise NulCharacter(table, str(name), "contains a NUL character (\\x00), which cannot be stored")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@cache
def open_engine(url: str) -> Engine:
    """An engine whose schema is at the newest revision (migrated on first open in this process)."""
    engine = make_engine(url)
    if current_revision(engine) != head_revision(url):
        upgrade(engine)
    return engine


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = sessionmaker(open_engine(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def configured_session() -> Iterator[Session]:
    """`session_scope` on the database the settings name: what each command of the CLIs reads and writes in."""
    with session_scope(load_settings().database) as session:
        yield session


def valid_id(key: object) -> bool:
    """Whether `key` can be a record id (a whole number from 1 to ID_MAX); other keys (names) pass."""
    return not isinstance(key, int) or isinstance(key, bool) or 1 <= key <= ID_MAX


def lookup(session: Session, model: type[Row], key: Any) -> Row | None:
    """`session.get`, for keys that come from outside: an id no column can hold is no row, not a database error."""
    return session.get(model, key) if valid_id(key) else None


def existing(session: Session, model: type[Row], key: Any) -> Row:
    """The row of `model` with this primary key; NotInRecord, naming the table and key, when there is none."""
    row = lookup(session, model, key)
    if row is None:
        raise NotInRecord(getattr(model, "__tablename__", model.__name__), key)
    return row


def insert_unless_present(session: Session, model: type, values: dict, unique: list[str]):
    """`INSERT … ON CONFLICT (unique) DO NOTHING RETURNING` the primary key: the new row's key, or None when a row
    with the same unique columns is already there (written by another process, perhaps an instant ago)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(key)
    return session.execute(statement).scalar()
