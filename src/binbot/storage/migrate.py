"""Run the Alembic migrations shipped in ``binbot/storage/migrations`` (no alembic.ini needed).

``upgrade`` is called on every start: it is idempotent, never drops data (migrations that move
data copy it), and refuses a database stamped with a revision this binbot does not know (a newer
binbot wrote it; running older code against it could corrupt it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy import Connection, Engine

from binbot.storage.database import SQLITE_BEGIN_OPTION, is_sqlite, make_engine

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"


class SchemaTooNew(RuntimeError):
    """The database carries a schema revision unknown to this version of binbot."""


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions() -> tuple[str, ...]:
    """The newest revision(s) this binbot ships."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revision(s) the database is stamped with; empty for a fresh database."""
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def check_known(engine: Engine) -> tuple[str, ...]:
    """Return the current revisions; raise ``SchemaTooNew`` when one is unknown here."""
    current = current_revisions(engine)
    script = ScriptDirectory.from_config(alembic_config())
    for revision in current:
        try:
            known = script.get_revision(revision)
        except (ResolutionError, AlembicCommandError):
            known = None
        if known is None:
            heads = ", ".join(script.get_heads()) or "none"
            raise SchemaTooNew(
                f"database schema revision {revision!r} is newer than this binbot "
                f"(it knows up to {heads}); upgrade binbot or restore a backup made by this version"
            )
    return current


def upgrade(target: str | Engine, revision: str = "heads") -> UpgradeResult:
    """Bring the database at ``target`` (URL or engine) to ``revision`` (default: newest)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        before = check_known(engine)
        with engine.connect() as connection:
            if is_sqlite(engine):
                # Take the write lock before reading the version: two processes starting at
                # once then migrate one after the other.
                connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            command.upgrade(alembic_config(connection), revision)
            if connection.in_transaction():
                connection.commit()
        return UpgradeResult(before, current_revisions(engine))
    finally:
        if isinstance(target, str):
            engine.dispose()
