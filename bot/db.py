"""Database engine and sessions: SQLite (WAL, busy timeout) or PostgreSQL; the schema is bot.schema's."""

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    """An engine for the URL; for SQLite the file's folder is created and WAL switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        # An executemany INSERT (the worker's replies and last answers) as one multi-row INSERT, as SQLAlchemy
        # does for psycopg2: psycopg's pipelined executemany cost twice the CPU, in the client and the server.
        engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
