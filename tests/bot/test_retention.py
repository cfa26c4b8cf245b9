"""Conversations older than the retention are deleted; open work and the FAQ never are."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import func, select

import main
from bot import retention
from bot.settings import Settings
from bot.tables import (Escalation, InboxMessage, LastAnswer, LoginFailure, OutboxMessage, PendingChoice,
                        PrivacyWarning, WebSession)
from knowledge.models import FaqEntry, FaqSuggestion, utcnow

NOW = utcnow()


def ago(days: float):
    return NOW - timedelta(days=days)


def received(days: float, status: str = "done", number: int = 0) -> InboxMessage:
    return InboxMessage(platform="zalo", message_id=f"m{days}-{status}-{number}", chat_id="u1", chat_kind="private",
                        sender_id="u1", text="hỏi vneid", status=status, received_at=ago(days))


def sent(days: float, status: str = "sent", escalation_id: int | None = None) -> OutboxMessage:
    return OutboxMessage(platform="zalo", chat_id="u1", chat_kind="private", text="trả lời", status=status,
                         created_at=ago(days), next_attempt_at=ago(days), escalation_id=escalation_id)


def asked(days: float, status: str, answered_days: float | None = None) -> Escalation:
    return Escalation(platform="zalo", chat_id="u1", chat_kind="private", asker_id="u1", message_id=f"e{days}{status}",
                      question="xin giấy phép xây dựng", status=status, created_at=ago(days),
                      answered_at=ago(answered_days) if answered_days is not None else None)


def count(session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def purge(session, days: int = 180) -> dict[str, int]:
    removed = retention.purge(session, NOW, Settings(_env_file=None, retention_days=days))
    session.commit()
    return removed


def test_finished_conversations_older_than_the_retention_are_deleted_and_counted(session):
    session.add_all([received(200), received(200, "failed"), received(10), sent(200), sent(200, "failed"), sent(10),
                     asked(300, "answered", 200), asked(250, "closed"), asked(20, "answered", 19),
                     PendingChoice(platform="zalo", chat_id="u1", user_id="u1", options=["a"], created_at=ago(200)),
                     LastAnswer(platform="zalo", chat_id="u1", user_id="u1", faq_id="a", question="q",
                                answered_at=ago(200)),
                     PrivacyWarning(platform="zalo", chat_id="g1", warned_at=ago(200)),
                     LoginFailure(key="lan|1.2.3.4", count=3, window_start=ago(200))])
    session.commit()

    removed = purge(session)

    assert removed == {"inbox": 2, "outbox": 2, "escalations": 2, "pending_choices": 1, "last_answers": 1,
                       "privacy_warnings": 1, "web_sessions": 0, "login_failures": 1}
    assert [r.received_at.date() for r in session.exec(select(InboxMessage)).all()] == [ago(10).date()]
    assert count(session, OutboxMessage) == 1 and count(session, Escalation) == 1


def test_open_work_is_never_deleted_however_old(session):
    session.add_all([received(400, "new"), sent(400, "pending"), asked(400, "open"), asked(400, "claimed")])
    session.commit()

    assert sum(purge(session).values()) == 0
    assert count(session, InboxMessage) == 1 and count(session, OutboxMessage) == 1
    assert count(session, Escalation) == 2


def test_an_old_question_answered_recently_is_kept(session):
    session.add(asked(400, "answered", 30))
    session.commit()
    assert purge(session)["escalations"] == 0


def test_an_escalations_sent_notifications_go_with_it_and_a_pending_one_stays(session):
    old = asked(300, "answered", 250)
    session.add(old)
    session.flush()
    session.add_all([sent(300, escalation_id=old.id), sent(250, escalation_id=old.id),
                     sent(250, "pending", escalation_id=old.id)])
    session.commit()

    purge(session)

    assert [r.status for r in session.exec(select(OutboxMessage)).all()] == ["pending"]


def test_the_faq_and_its_suggestions_are_never_touched(session):
    session.add(FaqSuggestion(kind="new", question="q", answer="a", source="escalation #1", created_at=ago(900)))
    session.commit()
    entries = count(session, FaqEntry)
    assert entries > 0

    purge(session, days=1)

    assert count(session, FaqEntry) == entries and count(session, FaqSuggestion) == 1


def test_expired_web_sessions_are_deleted(session):
    from bot.people import add_user

    user = add_user(session, "admin", "admin")
    session.flush()
    session.add_all([WebSession(token_hash="old", user_id=user.id, csrf="x", expires_at=ago(1)),
                     WebSession(token_hash="live", user_id=user.id, csrf="y", expires_at=NOW + timedelta(days=1))])
    session.commit()

    assert purge(session)["web_sessions"] == 1
    assert [s.token_hash for s in session.exec(select(WebSession)).all()] == ["live"]


def test_the_retention_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TROLY_RETENTION_DAYS", "30")
    assert Settings(_env_file=None).retention_days == 30
    assert Settings(_env_file=None, retention_days=180).retention_days == 180


def test_the_cli_purges_once_and_prints_the_counts(troly, session, monkeypatch):
    session.add_all([received(60), received(10), sent(60)])
    session.commit()
    monkeypatch.setenv("TROLY_RETENTION_DAYS", "30")

    code, out, _ = troly("retention", "purge")

    assert code == 0
    assert "30 ngày" in out and "inbox: 1" in out and "outbox: 1" in out and "escalations: 0" in out
    session.expire_all()
    assert count(session, InboxMessage) == 1


def test_the_worker_purges_when_it_starts_and_keeps_recent_work(runtime, session):
    session.add_all([received(400), received(1)])
    session.commit()
    worker = main.build_service(runtime, {}).worker

    async def one_turn():
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(0.3)
        stop.set()
        await task

    asyncio.run(one_turn())
    assert count(session, InboxMessage) == 1
