"""Alembic environment: runs on the connection handed in by evidence.database, or on the configured URL."""

from alembic import context
from sqlalchemy import create_engine

from evidence.record import Base

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: no sqlalchemy.url configured (evidence.database sets it from the settings)")
    with create_engine(url).connect() as conn:
        run(conn)
        conn.commit()
