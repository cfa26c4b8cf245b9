"""On PostgreSQL a message stored by one process wakes the workers of the others at once, not at their next poll."""

from __future__ import annotations

import threading

import pytest

from bot import inbox, wakeups
from bot.db import make_engine
from bot.messages import ChatKind, IncomingMessage
from bot.schema import upgrade
from knowledge.models import utcnow


def message(n: int) -> IncomingMessage:
    return IncomingMessage(platform="zalo", chat_id=f"c{n}", chat_kind=ChatKind.PRIVATE, sender_id=f"c{n}",
                           message_id=f"m{n}", text="quên mật khẩu vneid")


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def woken(engine, postgres_url):
    """Released once per notification a listener receives; LISTEN has begun when the test starts."""
    signals = threading.Semaphore(0)
    listener = wakeups.Listener(postgres_url, signals.release)
    listener.start()
    assert not signals.acquire(timeout=1.5)  # nothing stored yet (and time for LISTEN to begin)
    yield signals
    listener.stop()


def test_a_new_message_wakes_a_listener_and_a_retry_does_not(engine, woken):
    with engine.begin() as connection:
        assert inbox.record(connection, [message(1)], utcnow()) == 1
    assert woken.acquire(timeout=5)
    with engine.begin() as connection:  # the platform delivers the same message again: nothing new
        assert inbox.record(connection, [message(1)], utcnow()) == 0
    assert not woken.acquire(timeout=1.5)


def test_nothing_is_sent_before_the_rows_are_committed(engine, woken):
    with engine.connect() as connection:
        inbox.record(connection, [message(2)], utcnow())
        assert not woken.acquire(timeout=1.0)
        connection.rollback()
    assert not woken.acquire(timeout=1.0)


def test_a_listener_without_a_server_keeps_trying_and_stops_cleanly():
    listener = wakeups.Listener("postgresql+psycopg://nobody@127.0.0.1:1/none", lambda: None, retry_seconds=0.1)
    listener.start()
    listener.stop()
    assert not listener._thread.is_alive()
