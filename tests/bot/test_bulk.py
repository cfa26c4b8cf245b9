"""One UPDATE for many rows: each row gets its own values, only rows that match change, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.bulk import RowUpdate
from bot.db import make_engine, session as make_session
from bot.schema import upgrade
from bot.tables import OutboxMessage
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
