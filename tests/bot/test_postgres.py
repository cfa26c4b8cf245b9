"""The same code on PostgreSQL: inbox dedupe, claims shared by two processes, a whole webhook round trip.

The whole suite also runs on PostgreSQL with TROLY_TEST_DATABASE=postgresql (slower: a database per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

import deliveries as d
from bot import inbox
from bot.db import make_engine
from bot.messages import ChatKind, IncomingMessage
from bot.runtime import Runtime
from bot.settings import Settings
from fake_platform import FakePlatform
from knowledge.models import utcnow
from main import create_app


def message(n: int, chat: str) -> IncomingMessage:
    return IncomingMessage(platform="zalo", chat_id=chat, chat_kind=ChatKind.PRIVATE, sender_id=chat,
                           message_id=f"m{n}", text="quen mat khau vneid")


def test_a_retried_delivery_is_stored_once(postgres_url):
    rt = Runtime.start(Settings(database_url=postgres_url, _env_file=None, seed_admin=False, seed_faq=False))
    with rt.session() as s:
        assert inbox.record(s, [message(1, "a"), message(2, "b")], utcnow()) == 2
        assert inbox.record(s, [message(1, "a"), message(3, "c")], utcnow()) == 1
        s.commit()
    rt.engine.dispose()


def test_two_processes_claiming_at_once_take_each_row_once(postgres_url):
    rt = Runtime.start(Settings(database_url=postgres_url, _env_file=None, seed_admin=False, seed_faq=False))
    with rt.session() as s:
        inbox.record(s, [message(n, f"chat{n}") for n in range(200)], utcnow())
        s.commit()
    engines = [make_engine(postgres_url) for _ in range(4)]

    def drain(engine) -> list[str]:
        taken = []
        from sqlmodel import Session

        while True:
            with Session(engine, expire_on_commit=False) as s:
                rows = inbox.claim(s, utcnow(), timedelta(minutes=1), limit=7)
            if not rows:
                return taken
            taken += [r.message_id for r in rows]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(drain, engines))
    claimed = [m for part in results for m in part]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    for engine in engines:
        engine.dispose()
    rt.engine.dispose()


def test_a_claim_reads_a_few_pages_with_a_backlog_and_no_statistics(postgres_url):
    """A new table has no statistics: a plan that walked every waiting row per candidate read 65,000 pages here, the chat index 7,000."""
    rt = Runtime.start(Settings(database_url=postgres_url, _env_file=None, seed_admin=False, seed_faq=False))
    with rt.session() as s:
        inbox.record(s, [message(n, f"chat-{n}") for n in range(2000)], utcnow())
        s.commit()
    statement = inbox._claim_statement().compile(dialect=rt.engine.dialect)
    now = utcnow()
    parameters = {**statement.params, "now": now, "until": now + timedelta(seconds=60), "limit": 50}
    with rt.engine.connect() as c:
        cursor = c.connection.dbapi_connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + str(statement), parameters)
        plan = cursor.fetchone()[0][0]["Plan"]
        c.rollback()
    assert plan["Actual Rows"] == 50
    assert plan["Shared Hit Blocks"] + plan["Shared Read Blocks"] < 20_000
    rt.engine.dispose()


@contextmanager
def live_app(postgres_url: str) -> Iterator[tuple[TestClient, FakePlatform]]:
    """The app on PostgreSQL with its worker, every platform at a fake."""
    with FakePlatform() as fake:
        settings = Settings(database_url=postgres_url, _env_file=None, seed_admin=False, worker_poll_seconds=0.05,
                            **d.platform_env(fake.base_url))
        app = create_app(settings)
        with TestClient(app) as client:
            yield client, fake
        app.state.runtime.engine.dispose()


def test_a_webhook_is_answered_through_postgresql(postgres_url):
    with live_app(postgres_url) as (client, fake):
        body, headers = d.zalo("quen mat khau vneid", sender="pg-user")
        assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
        assert client.post("/webhooks/zalo", content=body, headers=headers).json()["stored"] == 0
        assert fake.wait_for(1)
    assert [r.recipient for r in fake.delivered] == ["pg-user"]


def test_after_the_database_drops_every_connection_the_next_delivery_is_stored_and_answered(postgres_url):
    with live_app(postgres_url) as (client, fake):
        body, headers = d.zalo("quen mat khau vneid", sender="before")
        assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
        assert fake.wait_for(1)
        server = create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with server.connect() as c:  # as a restart would
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": make_url(postgres_url).database})
        server.dispose()
        body, headers = d.zalo("lam can cuoc o dau", sender="after")
        response = client.post("/webhooks/zalo", content=body, headers=headers)
        assert response.status_code == 200 and response.json()["stored"] == 1
        assert fake.wait_for(2, timeout=15)
    assert sorted(r.recipient for r in fake.delivered) == ["after", "before"]
