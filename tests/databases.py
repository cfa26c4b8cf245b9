"""PostgreSQL for tests: is a server there, and a fresh database dropped afterwards.

A module, not part of conftest.py: `conftest` as a module name is shadowed by tests/browser/conftest.py in a full run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN_URL = os.environ.get("TROLY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SKIP_REASON = "PostgreSQL is not running at 127.0.0.1:5432"


def postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2).close()
        return True
    except Exception:
        return False


@contextmanager
def fresh_postgres_database(prefix: str = "troly_t") -> Iterator[str]:
    """A new empty database's SQLAlchemy URL; dropped (connections and all) on exit."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
