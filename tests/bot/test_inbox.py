"""The durable inbox: a retried delivery is a no-op, claims respect leases and each chat's order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot import inbox
from bot.messages import Attachment, ChatKind, IncomingMessage
from bot.runtime import Runtime
from bot.settings import Settings
from bot.tables import InboxMessage
from knowledge.models import utcnow

LEASE = timedelta(seconds=60)


def message(message_id: str, chat: str = "c1", text: str = "quen mat khau vneid", **extra) -> IncomingMessage:
    return IncomingMessage(platform="zalo", chat_id=chat, chat_kind=ChatKind.PRIVATE, sender_id="u1",
                           message_id=message_id, text=text, **extra)


def test_the_same_message_delivered_twice_is_stored_once(session):
    now = utcnow()
    assert inbox.record(session, [message("m1"), message("m2")], now) == 2
    assert inbox.record(session, [message("m1")], now) == 0
    session.commit()
    assert len(session.exec(select(InboxMessage)).all()) == 2


def test_a_stored_row_reads_back_as_the_same_message(session):
    original = message("m1", attachments=(Attachment("image", "https://example.invalid/a.jpg"),),
                       mentions_bot=True, reply_to="m0", sender_name="Bác Tư")
    inbox.record(session, [original], utcnow())
    session.commit()
    [row] = inbox.claim(session, utcnow(), LEASE)
    assert inbox.to_message(row) == original


def test_a_claimed_row_is_not_claimed_again_until_its_lease_expires(session):
    inbox.record(session, [message("m1")], utcnow())
    session.commit()
    now = utcnow()
    assert [r.message_id for r in inbox.claim(session, now, LEASE)] == ["m1"]
    assert inbox.claim(session, now + timedelta(seconds=30), LEASE) == []
    [again] = inbox.claim(session, now + timedelta(seconds=61), LEASE)
    assert again.message_id == "m1" and again.attempts == 2


def test_only_the_oldest_unfinished_message_of_a_chat_is_handed_out(session):
    inbox.record(session, [message("a1", chat="A"), message("a2", chat="A"), message("b1", chat="B")], utcnow())
    session.commit()
    now = utcnow()
    first = inbox.claim(session, now, LEASE)
    assert sorted(r.message_id for r in first) == ["a1", "b1"]
    assert inbox.claim(session, now, LEASE) == []  # a2 waits behind a1
    for row in first:
        inbox.finish(session, row, now)
    session.commit()
    assert [r.message_id for r in inbox.claim(session, now, LEASE)] == ["a2"]


def test_finishing_a_row_masks_personal_numbers_in_the_transcript(session):
    inbox.record(session, [message("m1", text="cccd cua toi 001203004567, sdt 0912345678")], utcnow())
    session.commit()
    [row] = inbox.claim(session, utcnow(), LEASE)
    inbox.finish(session, row, utcnow())
    session.commit()
    stored = session.exec(select(InboxMessage)).one()
    assert stored.status == "done"
    assert "001203004567" not in stored.text and "0912345678" not in stored.text


def test_the_webhook_writer_commits_each_delivery_and_skips_a_retry(runtime, session):
    writer = inbox.Writer(runtime.engine)
    assert writer.record([message("w1")], utcnow()) == 1
    assert writer.record([message("w1")], utcnow()) == 0
    assert [row.message_id for row in session.exec(select(InboxMessage))] == ["w1"]
    writer.close()


def test_the_webhook_writer_replaces_a_connection_that_died_and_loses_nothing(runtime, session):
    writer = inbox.Writer(runtime.engine)
    writer.record([message("w1")], utcnow())
    writer._raw.dbapi_connection.close()  # as a database restart would leave it
    assert writer.record([message("w2")], utcnow()) == 1
    assert sorted(row.message_id for row in session.exec(select(InboxMessage))) == ["w1", "w2"]
    writer.close()


def test_the_webhook_writer_says_the_inbox_is_unavailable_when_a_new_connection_fails_too(runtime, tmp_path):
    from bot.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")  # no tables: every insert fails
    writer = inbox.Writer(engine)
    with pytest.raises(inbox.Unavailable):
        writer.record([message("w1")], utcnow())
    engine.dispose()


def test_on_postgresql_deliveries_arriving_together_share_a_commit_and_each_learns_its_count(postgres_url):
    rt = Runtime.start(Settings(database_url=postgres_url, _env_file=None, seed_admin=False, seed_faq=False))
    grouped = inbox.GroupWriter(inbox.Writer(rt.engine))

    async def deliver() -> list[int]:
        first = [grouped.record([message(f"g{n}")]) for n in range(40)]
        again = [grouped.record([message("g0"), message("g-new")])]  # a retry with one new message
        return await asyncio.gather(*first, *again)

    counts = asyncio.run(deliver())
    assert counts == [1] * 40 + [1]
    with rt.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM inbox")).scalar() == 41
        commits = c.execute(text("SELECT count(DISTINCT xmin::text) FROM inbox")).scalar()
    assert commits < 10  # 41 rows, a few transactions
    grouped.close()
    rt.engine.dispose()


def test_on_postgresql_a_delivery_the_database_refuses_does_not_keep_the_others_out(postgres_url):
    rt = Runtime.start(Settings(database_url=postgres_url, _env_file=None, seed_admin=False, seed_faq=False))
    grouped = inbox.GroupWriter(inbox.Writer(rt.engine))
    refused = IncomingMessage(platform="zalo", chat_id="u", chat_kind=ChatKind.PRIVATE, sender_id="u",
                              message_id="bad", text="NUL \x00 is refused by PostgreSQL")

    async def deliver() -> list[object]:
        return await asyncio.gather(grouped.record([message("a")]), grouped.record([refused]),
                                    grouped.record([message("b")]), return_exceptions=True)

    first, bad, second = asyncio.run(deliver())
    assert (first, second) == (1, 1) and isinstance(bad, inbox.Unavailable)
    with rt.session() as s:
        assert sorted(row.message_id for row in s.exec(select(InboxMessage))) == ["a", "b"]
    grouped.close()
    rt.engine.dispose()


def test_on_postgresql_the_group_writer_works_again_after_a_shutdown_and_on_a_new_event_loop(postgres_url):
    """As a test client does: each `with TestClient(app)` is a new loop and ends with the app's shutdown."""
    rt = Runtime.start(Settings(database_url=postgres_url, _env_file=None, seed_admin=False, seed_faq=False))
    grouped = inbox.GroupWriter(inbox.Writer(rt.engine))
    assert asyncio.run(grouped.record([message("x1")])) == 1
    grouped.close()
    assert asyncio.run(asyncio.wait_for(grouped.record([message("x2")]), timeout=10)) == 1
    grouped.close()
    rt.engine.dispose()
