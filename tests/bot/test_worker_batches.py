"""The worker answers a batch of chats in one transaction and the sender claims only when rows wait; what one
message at a time guaranteed still holds: a takeover is fenced, a waiting asker is held, a chat keeps its order."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from sqlmodel import select

from bot import inbox, outbox
from bot.delivery import Sender
from bot.engine import Engine
from bot.messages import ChatKind, IncomingMessage, OutgoingMessage
from bot.runtime import Runtime
from bot.tables import Escalation, InboxMessage, LastAnswer, OutboxMessage
from bot.worker import Worker
from knowledge.models import utcnow
from main import build_handlers, build_platforms

LEASE = timedelta(seconds=60)
QUESTION = "quen mat khau vneid"


def private(chat: str, text: str = QUESTION, number: int = 1) -> IncomingMessage:
    return IncomingMessage(platform="zalo", chat_id=chat, chat_kind=ChatKind.PRIVATE, sender_id=chat,
                           message_id=f"{chat}-{number}", text=text)


def stored(runtime: Runtime) -> tuple[dict[str, InboxMessage], list[OutboxMessage]]:
    with runtime.session() as s:
        rows = {row.chat_id: row for row in s.exec(select(InboxMessage)).all()}
        return rows, list(s.exec(select(OutboxMessage)).all())


def test_a_claimed_row_tells_whether_its_chat_has_a_next_message(session):
    inbox.record(session, [private("A", number=1), private("A", number=2), private("B")], utcnow())
    session.commit()
    rows = inbox.claim(session, utcnow(), LEASE)
    assert {row.chat_id: row.has_next for row in rows} == {"A": True, "B": False}


def test_a_batch_answers_each_chat_and_holds_the_asker_who_waits_for_the_team(runtime):
    with runtime.session() as s:
        s.add(Escalation(platform="zalo", chat_id="waits", chat_kind="private", asker_id="waits", message_id="m0",
                         question="xin giấy phép xây dựng cần gì"))
        inbox.record(s, [private("asks"), private("waits", "cháu ơi tổ trả lời chưa ạ")], utcnow())
        s.commit()
    assert Worker(runtime, Engine(build_handlers()), threads=1).process_inbox() == 2
    rows, replies = stored(runtime)
    assert (rows["asks"].status, rows["asks"].decision) == ("done", "answer")
    assert (rows["waits"].status, rows["waits"].decision) == ("done", "held")
    assert [r.chat_id for r in replies] == ["asks"]
    with runtime.session() as s:
        assert s.exec(select(Escalation)).one().thread == ["cháu ơi tổ trả lời chưa ạ"]


def test_a_batch_remembers_each_answer_so_that_sai_roi_finds_it(runtime):
    with runtime.session() as s:
        inbox.record(s, [private("A"), private("B", "lam can cuoc o dau")], utcnow())
        s.commit()
    worker = Worker(runtime, Engine(build_handlers()), threads=1)
    assert worker.process_inbox() == 2
    rows, _ = stored(runtime)
    with runtime.session() as s:
        remembered = {row.chat_id: row.faq_id for row in s.exec(select(LastAnswer))}
        s.add(InboxMessage(platform="zalo", message_id="A-2", chat_id="A", chat_kind="private", sender_id="A",
                           text="sai rồi", status="new", attempts=0, received_at=utcnow(), details={}))
        s.commit()
    assert remembered == {"A": rows["A"].faq_id, "B": rows["B"].faq_id} and None not in remembered.values()
    assert worker.process_inbox() == 1
    with runtime.session() as s:
        feedback = s.exec(select(InboxMessage).where(InboxMessage.message_id == "A-2")).one()
    assert (feedback.decision, feedback.faq_id) == ("escalate", remembered["A"])  # the wrong answer handed to the team


def test_a_batch_with_a_row_taken_over_meanwhile_answers_the_others_and_drops_that_one(runtime):
    with runtime.session() as s:
        inbox.record(s, [private("A"), private("B")], utcnow())
        s.commit()
    now = utcnow()
    with runtime.session() as s:
        late = inbox.claim(s, now, LEASE)
        [taken] = inbox.claim(s, now + LEASE + timedelta(seconds=1), LEASE, limit=1)  # our lease ran out on A
    worker = Worker(runtime, Engine(build_handlers()), threads=1)
    with runtime.session() as s:
        assert worker._process_some(late, runtime.knowledge(s))
    rows, replies = stored(runtime)
    assert taken.chat_id == "A" and (rows["A"].status, rows["A"].attempts) == ("new", 2)  # the taker's to answer
    assert rows["B"].status == "done"
    assert [r.chat_id for r in replies] == ["B"]


def test_the_next_reply_of_a_chat_goes_out_when_the_one_before_is_sent_not_at_the_next_poll(live_settings, fake):
    runtime = Runtime.start(live_settings.model_copy(update={"worker_poll_seconds": 30.0}))
    with runtime.session() as s:
        for text in ("một", "hai", "ba"):
            outbox.enqueue(s, OutgoingMessage(platform="zalo", chat_id="u1", chat_kind=ChatKind.PRIVATE, text=text),
                           utcnow())
        s.commit()

    async def deliver() -> float:
        async with httpx.AsyncClient(timeout=5) as client:
            sender, stop = Sender(runtime, build_platforms(runtime.settings), client), asyncio.Event()
            task = asyncio.create_task(sender.run(stop))
            started = time.monotonic()
            while len(fake.delivered) < 3 and time.monotonic() - started < 10:
                await asyncio.sleep(0.01)
            stop.set()
            await task
            await sender.drain()
            return time.monotonic() - started

    assert asyncio.run(deliver()) < 5
    assert [r.text for r in fake.delivered] == ["một", "hai", "ba"]
    with runtime.session() as s:
        assert {r.status for r in s.exec(select(OutboxMessage)).all()} == {"sent"}
    runtime.engine.dispose()
