"""Group manners: no answer posted twice within minutes, and a per-chat flood limit."""

from __future__ import annotations

from datetime import timedelta

from bot import etiquette, outbox
from bot.etiquette import ALREADY_ANSWERED
from bot.messages import ChatKind, OutgoingMessage
from knowledge.models import utcnow


def out(text: str, kind: ChatKind = ChatKind.GROUP, chat: str = "g1") -> OutgoingMessage:
    return OutgoingMessage(platform="zalo", chat_id=chat, chat_kind=kind, text=text, mention_user_id="u1")


def send(session, settings, message: OutgoingMessage, now) -> list[OutgoingMessage]:
    admitted = etiquette.admit(session, [message], now, settings)
    for m in admitted:
        outbox.enqueue(session, m, now)
    session.commit()
    return admitted


def test_a_repeated_group_answer_becomes_a_pointer_then_silence(session, settings):
    now = utcnow()
    assert [m.text for m in send(session, settings, out("Dạ, cách lấy lại mật khẩu…"), now)] == ["Dạ, cách lấy lại mật khẩu…"]
    assert [m.text for m in send(session, settings, out("Dạ, cách lấy lại mật khẩu…"), now)] == [ALREADY_ANSWERED]
    assert send(session, settings, out("Dạ, cách lấy lại mật khẩu…"), now) == []


def test_the_same_answer_may_return_after_the_window(session, settings):
    now = utcnow()
    send(session, settings, out("Dạ, trả lời A"), now)
    later = now + timedelta(minutes=settings.group_repeat_minutes + 1)
    assert [m.text for m in send(session, settings, out("Dạ, trả lời A"), later)] == ["Dạ, trả lời A"]


def test_private_chats_and_other_groups_are_not_affected(session, settings):
    now = utcnow()
    send(session, settings, out("Dạ, trả lời A"), now)
    assert send(session, settings, out("Dạ, trả lời A", kind=ChatKind.PRIVATE, chat="u1"), now)
    assert send(session, settings, out("Dạ, trả lời A", chat="g2"), now)


def test_a_group_gets_at_most_the_configured_replies_per_minute(session, settings):
    now = utcnow()
    admitted = [send(session, settings, out(f"Dạ, trả lời số {i}"), now) for i in range(10)]
    assert sum(len(a) for a in admitted) == settings.group_replies_per_minute
