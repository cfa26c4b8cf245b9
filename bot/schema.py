"""The database schema: Alembic migrations brought to head at start; a database already there costs one look."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a database is behind: `troly ask` on a migrated database never loads it.
HEAD = "0002"  # the newest revision in bot/migrations/versions; a test keeps the two in step
INITIAL = "0001"  # what a database made by `create_all` before migrations existed is stamped as
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
PG_LOCK_KEY = 7_726_515_001  # any fixed number, the same in every process that upgrades

log = logging.getLogger("troly.schema")


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` found and left: revision ids (None for an empty database) and whether it stamped."""

    before: str | None
    after: str
    stamped: bool = False


@dataclass(frozen=True)
class Readiness:
    """Whether the database answers and is at HEAD; `reason` says why not."""

    revision: str | None
    reason: str | None = None

    @property
    def ready(self) -> bool:
        return self.reason is None


class SchemaError(RuntimeError):
    """The database is at a revision this version does not know (a newer version migrated it)."""


def metadata() -> MetaData:
    """Every table the models declare (importing them registers them on SQLModel.metadata)."""
    import bot.tables  # noqa: F401
    import knowledge.models  # noqa: F401

    return SQLModel.metadata


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None when it has never been migrated."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to HEAD; several processes may call this at once, one of them migrates."""
    with engine.connect() as conn:
        if (found := current_revision(conn)) == HEAD:
            return Upgrade(found, HEAD)
    with engine.connect() as conn:
        _lock(conn)
        before = current_revision(conn)  # another process may have migrated while we waited
        stamped = before is None and _has_model_tables(conn)
        if before != HEAD:
            _migrate(conn, before, stamp=stamped)
        conn.commit()
    return Upgrade(before, HEAD, stamped)


def readiness(engine: Engine) -> Readiness:
    """For `/readyz`: the reason names no host or password (the log has the error's kind)."""
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as error:
        log.warning("readiness: the database does not answer: %s", type(error).__name__)
        return Readiness(None, "database unreachable")
    if revision != HEAD:
        found = revision or "no revision"
        return Readiness(revision, f"migrations not at head: the database is at {found}, this version needs {HEAD}")
    return Readiness(revision)


def _lock(conn: Connection) -> None:
    """Hold the database's migration lock until this connection's transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock; the others wait (busy timeout)


def _has_model_tables(conn: Connection) -> bool:
    """Tables of ours without a version: a database that `create_all` made before migrations."""
    return bool(set(inspect(conn).get_table_names()) & set(metadata().tables))


def alembic_config(conn: Connection) -> Config:
    """Alembic's configuration, built in code: the scripts in bot/migrations, run on `conn`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _migrate(conn: Connection, before: str | None, stamp: bool) -> None:
    """Run Alembic on `conn`: stamp a database from before migrations, then upgrade to head."""
    from alembic import command
    from alembic.util import CommandError

    try:
        if stamp:
            command.stamp(alembic_config(conn), INITIAL)
        command.upgrade(alembic_config(conn), "head")
    except CommandError as error:  # a revision no script here knows: a newer version migrated this database
        raise SchemaError(f"Cơ sở dữ liệu ở bản {before}, phiên bản này chỉ biết đến bản {HEAD} ({error}).") from error
