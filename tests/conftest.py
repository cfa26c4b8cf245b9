"""Shared fixtures: settings on a throw-away SQLite file, a started runtime, a session."""

from __future__ import annotations

import io
import os
import sys

import pytest

from bot.runtime import Runtime
from bot.settings import Settings
from databases import SKIP_REASON, fresh_postgres_database, postgres_available


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for one test, dropped afterwards; the test is skipped without a server."""
    if not postgres_available():
        pytest.skip(f"{SKIP_REASON}: PostgreSQL test skipped")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def database_url(tmp_path, request) -> str:
    """A SQLite file; with TROLY_TEST_DATABASE=postgresql the whole suite runs on PostgreSQL instead."""
    if os.environ.get("TROLY_TEST_DATABASE") == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def settings(database_url) -> Settings:
    # Hashing the first admin's password costs 0.2 s; the tests about it ask for it explicitly.
    return Settings(database_url=database_url, _env_file=None, seed_admin=False)


@pytest.fixture
def fake():
    """The fake Zalo OA, Zalo Bot and Messenger server on loopback (real HTTP)."""
    from fake_platform import FakePlatform

    with FakePlatform(timeout_delay=1.5) as server:
        yield server


@pytest.fixture
def live_settings(database_url, fake) -> Settings:
    """Every platform live and pointed at the fake, with a fast worker and short retries."""
    from deliveries import platform_env

    return Settings(database_url=database_url, _env_file=None, seed_admin=False, worker_poll_seconds=0.05,
                    send_retry_base_seconds=0.05, send_retry_max_seconds=0.2, send_timeout_seconds=0.5,
                    **platform_env(fake.base_url))


@pytest.fixture
def runtime(settings):
    rt = Runtime.start(settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def session(runtime):
    with runtime.session() as s:
        yield s


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2's defaults cost 0.2 s a hash; the tests hash hundreds of passwords."""
    from argon2 import PasswordHasher

    from bot import people

    monkeypatch.setattr(people, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def troly(database_url, tmp_path, monkeypatch, capsys):
    """Run `troly ARGS` in-process on the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("TROLY_DATABASE_URL", database_url)
    monkeypatch.setenv("TROLY_SEED_ADMIN", "false")  # hashing its password costs 0.2 s per fresh database
    monkeypatch.chdir(tmp_path)  # no stray .env

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        import main

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main.cli(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run
