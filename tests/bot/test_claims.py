"""Claims shared by several workers: rows skipped while another holds them, takeovers fenced, reminders
noted once, one token refresh for all processes."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

import deliveries as d
from bot import inbox, outbox, reminders
from bot.delivery import Sender
from bot.messages import ChatKind, IncomingMessage, OutgoingMessage
from bot.runtime import Runtime
from bot.settings import Settings
from bot.tables import Escalation, InboxMessage, OutboxMessage, Team
from knowledge.models import utcnow
from main import build_platforms
from village import seed_village

LEASE = timedelta(seconds=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path}/claims.db"


def start(url: str, **extra: object) -> Runtime:
    return Runtime.start(Settings(database_url=url, _env_file=None, seed_admin=False, seed_faq=False, **extra))


def message(n: int, chat: str) -> IncomingMessage:
    return IncomingMessage(platform="zalo", chat_id=chat, chat_kind=ChatKind.PRIVATE, sender_id=chat,
                           message_id=f"m{n}", text="quen mat khau vneid")


def test_a_row_held_by_one_claim_is_skipped_by_another_without_waiting(postgres_url):
    rt = start(postgres_url)
    with rt.session() as s:
        inbox.record(s, [message(1, "A"), message(2, "A"), message(3, "B"), message(4, "C")], utcnow())
        s.commit()
    now = utcnow()
    params = {"now": now, "until": now + LEASE, "limit": 1}
    with rt.engine.connect() as holder, rt.session() as other:
        [held] = holder.execute(inbox._claim_statement(), params).all()  # uncommitted: the row stays locked
        other.connection().execute(text("SET lock_timeout = '1s'"))  # waiting would raise instead of hang
        taken = inbox.claim(other, now, LEASE, limit=10)
        holder.rollback()
    assert held.message_id == "m1"
    assert sorted(r.message_id for r in taken) == ["m3", "m4"]  # never m2: it waits behind m1 in chat A
    rt.engine.dispose()


def test_a_worker_whose_lease_ran_out_cannot_close_the_row_another_took_over(any_url):
    rt = start(any_url)
    with rt.session() as s:
        inbox.record(s, [message(1, "A")], utcnow())
        s.commit()
    now = utcnow()
    with rt.session() as s:
        [late] = inbox.claim(s, now, LEASE)
        [taker] = inbox.claim(s, now + LEASE + timedelta(seconds=1), LEASE)
        assert not inbox.finish(s, late, now, "answer", "vneid-quen-mat-khau")
        assert inbox.finish(s, taker, now, "answer", "vneid-quen-mat-khau")
        s.commit()
        assert not inbox.finish(s, late, now)  # and nothing closes it twice
    with rt.session() as s:
        row = s.exec(select(InboxMessage)).one()
    assert (row.status, row.attempts, row.decision) == ("done", 2, "answer")
    rt.engine.dispose()


def test_two_workers_checking_reminders_at_once_send_each_reminder_once(any_url):
    rt, other = start(any_url), start(any_url)
    noon_in_hanoi = utcnow().replace(hour=5, minute=0, second=0, microsecond=0)
    with rt.session() as s:
        seed_village(s)
        team = s.exec(select(Team).where(Team.name == "Thôn Đông")).one()
        s.add(Escalation(platform="zalo", chat_id="u1", chat_kind="private", asker_id="u1", message_id="m1",
                         question="lịch thu gom rác thứ mấy", team_id=team.id, created_at=noon_in_hanoi))
        s.commit()
    now = noon_in_hanoi + timedelta(minutes=31)
    found: list[int] = []
    with rt.session() as first:
        assert len(reminders.due(first, now, rt.settings, str)) == 2  # Chị Lan and Anh Minh

        def second() -> None:
            with other.session() as s:
                found.append(len(reminders.due(s, now, other.settings, str)))
                s.commit()

        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)  # the second worker has read the escalation and now waits on its row
        first.commit()
        racer.join(timeout=30)
    assert found == [0]
    with rt.session() as s:
        assert s.exec(select(Escalation)).one().reminders_sent == 1
    rt.engine.dispose()
    other.engine.dispose()


def test_an_expired_zalo_token_is_refreshed_by_one_process_and_read_by_the_other(postgres_url):
    from fake_platform import FakePlatform

    with FakePlatform() as fake:
        env = d.platform_env(fake.base_url)
        runtimes = [start(postgres_url, **env), start(postgres_url, **env)]
        with runtimes[0].session() as s:
            for chat in ("u1", "u2"):
                outbox.enqueue(s, OutgoingMessage(platform="zalo", chat_id=chat, chat_kind=ChatKind.PRIVATE,
                                                  text="Dạ, em gửi bác."), utcnow())
            s.commit()
            rows = outbox.claim_due(s, utcnow(), LEASE)
        fake.expire_zalo_token()

        async def deliver_both() -> None:
            async with httpx.AsyncClient(timeout=5) as client:
                senders = [Sender(rt, build_platforms(rt.settings), client) for rt in runtimes]
                await asyncio.gather(*(sender.deliver(row) for sender, row in zip(senders, rows)))

        asyncio.run(deliver_both())
        refreshes = [r for r in fake.requests if r.platform == "zalo-oauth"]
        assert len(refreshes) == 1
        assert sorted(r.recipient for r in fake.delivered) == ["u1", "u2"]
        with runtimes[0].session() as s:
            assert {r.status for r in s.exec(select(OutboxMessage)).all()} == {"sent"}
        for rt in runtimes:
            rt.engine.dispose()
