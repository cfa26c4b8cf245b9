"""One UPDATE for many rows: each row gets its own values, only rows that match change, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.bulk import RowInsert, RowUpdate
from bot.db import make_engine, session as make_session
from bot.engine import run_deferred
from bot.schema import upgrade
from bot.tables import LastAnswer, OutboxMessage
from knowledge.models import utcnow

UPDATE = RowUpdate(OutboxMessage.__table__, match=(("id", "row_id"), ("attempts", "claimed")),
                   columns=("status", "sent_at", "platform_message_ids", "last_error"))


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request, tmp_path):
    url = f"sqlite:///{tmp_path}/b.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    upgrade(engine)
    with make_session(engine) as s:
        yield s
    engine.dispose()


def rows(session, count: int) -> list[int]:
    made = [OutboxMessage(platform="zalo", chat_id=f"c{i}", chat_kind="private", text=f"t{i}", attempts=1)
            for i in range(count)]
    session.add_all(made)
    session.commit()
    return [row.id for row in made]


def test_each_row_gets_its_own_values_and_only_matching_rows_change(session):
    ids = rows(session, 4)
    at = utcnow() - timedelta(minutes=3)
    changed = UPDATE.run(session, [
        {"row_id": ids[0], "claimed": 1, "status": "sent", "sent_at": at, "platform_message_ids": ["a", "b"],
         "last_error": None},
        {"row_id": ids[1], "claimed": 1, "status": "failed", "sent_at": None, "platform_message_ids": [],
         "last_error": "lỗi “ngoặc” 'đơn'"},
        {"row_id": ids[2], "claimed": 2, "status": "sent", "sent_at": at, "platform_message_ids": ["x"],
         "last_error": None},  # claimed again since: attempts no longer match
    ])
    session.commit()
    assert changed == 2
    by_id = {row.id: row for row in session.exec(select(OutboxMessage)).all()}
    assert (by_id[ids[0]].status, by_id[ids[0]].platform_message_ids) == ("sent", ["a", "b"])
    assert abs((by_id[ids[0]].sent_at.replace(tzinfo=at.tzinfo) - at).total_seconds()) < 1e-3
    assert (by_id[ids[1]].status, by_id[ids[1]].last_error, by_id[ids[1]].sent_at) == ("failed", "lỗi “ngoặc” 'đơn'", None)
    assert [by_id[i].status for i in ids[2:]] == ["pending", "pending"]


def test_no_rows_is_no_statement(session):
    assert UPDATE.run(session, []) == 0


REMEMBER = RowInsert(LastAnswer.__table__, columns=("platform", "chat_id", "user_id", "faq_id", "question",
                                                    "answered_at"), conflict=("platform", "chat_id", "user_id"))


def answer(chat: str, faq_id: str, question: str = "hỏi") -> dict:
    return {"platform": "zalo", "chat_id": chat, "user_id": chat, "faq_id": faq_id, "question": question,
            "answered_at": utcnow()}


def test_rows_are_inserted_and_a_taken_key_updates_its_row_the_last_row_of_a_key_winning(session):
    REMEMBER.run(session, [answer("a", "old"), answer("b", "b1")])
    REMEMBER.run(session, [answer("a", "new", "lỗi “ngoặc” 'đơn'"), answer("c", "c1"), answer("c", "c2")])
    session.commit()
    stored = {row.chat_id: (row.faq_id, row.question) for row in session.exec(select(LastAnswer)).all()}
    assert stored == {"a": ("new", "lỗi “ngoặc” 'đơn'"), "b": ("b1", "hỏi"), "c": ("c2", "hỏi")}


def test_a_batchs_deferred_writes_run_as_one_statement_per_writer(session):
    outbox = RowInsert(OutboxMessage.__table__, columns=("platform", "chat_id", "chat_kind", "text", "purpose",
                                                         "status", "attempts", "next_attempt_at", "created_at",
                                                         "platform_message_ids"))
    row = {"platform": "zalo", "chat_kind": "private", "text": "t", "purpose": "reply", "status": "pending",
           "attempts": 0, "next_attempt_at": utcnow(), "created_at": utcnow(), "platform_message_ids": ["x"]}
    run_deferred(session, [(REMEMBER, answer("a", "f1")), (outbox, {**row, "chat_id": "o"}),
                           (REMEMBER, answer("b", "f2")), (outbox, {**row, "chat_id": "p", "purpose": "notify"})])
    session.commit()
    assert {r.chat_id: r.faq_id for r in session.exec(select(LastAnswer)).all()} == {"a": "f1", "b": "f2"}
    replies = {r.chat_id: (r.purpose, r.platform_message_ids) for r in session.exec(select(OutboxMessage)).all()}
    assert replies == {"o": ("reply", ["x"]), "p": ("notify", ["x"])}
