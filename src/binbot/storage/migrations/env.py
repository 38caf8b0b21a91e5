"""Alembic environment: run migrations on the connection handed over by ``binbot.storage.migrate``.

Migrations are written by hand (no autogenerate), so no target metadata is needed. SQLite gets
batch mode so ``op.batch_alter_table`` can rebuild tables for ALTERs SQLite lacks.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

# A constant key for PostgreSQL's advisory lock: concurrent starts migrate one at a time.
_PG_MIGRATION_LOCK = 0x62696E626F74


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _PG_MIGRATION_LOCK})
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from binbot.storage.database import make_engine

        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no connection and no sqlalchemy.url given to the migrations")
        engine = make_engine(url)
        try:
            with engine.connect() as fresh:
                _run(fresh)
                if fresh.in_transaction():
                    fresh.commit()
        finally:
            engine.dispose()
    else:
        _run(connection)


_main()
