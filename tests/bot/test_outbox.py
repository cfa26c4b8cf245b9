"""The outbox: long replies become ordered parts, due rows are claimed once per chat and in order."""

from __future__ import annotations

from datetime import timedelta

from bot import outbox
from bot.messages import ChatKind, OutgoingMessage
from knowledge.models import utcnow

LEASE = timedelta(seconds=60)


def reply(text: str, chat: str = "g1") -> OutgoingMessage:
    return OutgoingMessage(platform="zalo", chat_id=chat, chat_kind=ChatKind.GROUP, text=text,
                           mention_user_id="u1", reply_to="m1")


def test_a_long_reply_is_stored_as_parts_under_the_platform_limit(session):
    text = " ".join(f"Câu số {i} của một câu trả lời rất dài." for i in range(300))
    rows = outbox.enqueue(session, reply(text), utcnow())
    session.commit()
    assert len(rows) > 1 and all(len(r.text) <= outbox.PART_LIMIT for r in rows)
    assert " ".join(r.text for r in rows).split() == text.split()
    assert [r.mention_user_id for r in rows] == ["u1"] + [None] * (len(rows) - 1)


def test_parts_of_one_chat_go_out_one_after_another(session):
    now = utcnow()
    outbox.enqueue(session, reply("một"), now)
    outbox.enqueue(session, reply("hai"), now)
    outbox.enqueue(session, reply("khác", chat="g2"), now)
    session.commit()
    first = outbox.claim_due(session, now, LEASE)
    assert sorted(r.text for r in first) == ["khác", "một"]
    assert outbox.claim_due(session, now, LEASE) == []
    outbox.mark_sent(session, next(r for r in first if r.text == "một"), now, ("z1",))
    session.commit()
    assert [r.text for r in outbox.claim_due(session, now, LEASE)] == ["hai"]


def test_a_row_set_to_retry_is_claimed_again_only_when_due(session):
    now = utcnow()
    outbox.enqueue(session, reply("một"), now)
    session.commit()
    [row] = outbox.claim_due(session, now, LEASE)
    outbox.retry_later(session, row, now + timedelta(seconds=5), "HTTP 500")
    session.commit()
    assert outbox.claim_due(session, now + timedelta(seconds=1), LEASE) == []
    [again] = outbox.claim_due(session, now + timedelta(seconds=6), LEASE)
    assert again.attempts == 2 and again.last_error == "HTTP 500"


def test_a_send_cut_off_by_a_crash_is_taken_up_after_its_lease(session):
    now = utcnow()
    outbox.enqueue(session, reply("một"), now)
    session.commit()
    assert len(outbox.claim_due(session, now, LEASE)) == 1  # the claiming process dies here
    assert outbox.claim_due(session, now + LEASE / 2, LEASE) == []
    [again] = outbox.claim_due(session, now + LEASE + timedelta(seconds=1), LEASE)
    assert again.text == "một" and again.attempts == 2
