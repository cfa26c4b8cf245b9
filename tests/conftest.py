"""Shared fixtures: settings on a throw-away SQLite file, a started runtime, a session."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from bot.settings import Settings


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def settings(database_url) -> Settings:
    # Hashing the first admin's password costs 0.2 s; the tests about it ask for it explicitly.
    return Settings(database_url=database_url, _env_file=None, seed_admin=False)


@pytest.fixture
def runtime(settings):
    rt = Runtime.start(settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def session(runtime):
    with runtime.session() as s:
        yield s
