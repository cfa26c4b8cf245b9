"""A personal number posted in a group: a kind warning once an hour per chat, the number never repeated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot import handoff, inbox
from bot.engine import Context, Engine
from bot.messages import ChatKind, IncomingMessage
from bot.privacy import MASK
from bot.tables import Escalation, InboxMessage, OutboxMessage
from bot.worker import Worker
from handlers.privacy import WARNING
from knowledge.models import utcnow
from main import build_handlers
from village import seed_village

PHONE = "0912345678"
QUESTION = "cho hỏi quên mật khẩu vneid thì lấy lại thế nào ạ"
START = utcnow()


def message(text: str, *, group: bool = True, chat: str = "g1", sender: str = "u1", number: int = 1,
            mentions_bot: bool = False) -> IncomingMessage:
    return IncomingMessage(platform="zalo", chat_id=chat if group else sender,
                           chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE, sender_id=sender,
                           message_id=f"m{number}", text=text, mentions_bot=mentions_bot)


@pytest.fixture
def say(runtime, session):
    engine = Engine(build_handlers())

    def run(text: str, *, minutes: float = 0, **where):
        ctx = Context(session, runtime.knowledge(session), runtime.settings, START + timedelta(minutes=minutes))
        out = engine.process(message(text, **where), ctx)
        session.commit()
        return out

    return run


def warnings(replies) -> list:
    return [r for r in replies if r.text == WARNING]


def test_a_number_posted_in_a_group_gets_a_kind_warning_addressed_to_the_poster(say):
    [warning] = say(f"sdt của em là {PHONE}, ai cần thì gọi nhé", sender="u7")
    assert warning.text == WARNING and warning.text.startswith("Dạ,")
    assert warning.chat_id == "g1" and warning.mention_user_id == "u7"
    assert warning.reply_to is None  # a quote would show the number again
    assert warning.meta["purpose"] == "privacy-warning"


@pytest.mark.parametrize("text", ["số cccd của cháu là 001203004567", "cmnd cũ 123456789 ạ", "mã OTP là 482913",
                                  "stk 1903-5678-9012-345 techcombank nhé mọi người"])
def test_id_cards_otp_codes_and_bank_accounts_are_warned_about(say, text):
    assert len(warnings(say(text))) == 1


def test_the_warning_never_repeats_the_number(say):
    for out in say(f"cccd 001203004567 sđt {PHONE} stk 19035678901234"):
        assert not any(digits in out.text for digits in ("001203004567", PHONE, "19035678901234", "5678"))


def test_a_chat_is_warned_at_most_once_an_hour(say):
    assert warnings(say(f"em {PHONE}", number=1))
    assert not warnings(say(f"còn em {PHONE.replace('1', '3')}", minutes=30, number=2))
    assert not warnings(say(f"em nữa {PHONE}", minutes=59, number=3))
    assert warnings(say(f"lại em {PHONE}", minutes=61, number=4))


def test_each_group_has_its_own_hour(say):
    assert warnings(say(f"em {PHONE}", chat="g1", number=1))
    assert warnings(say(f"em {PHONE}", chat="g2", number=2))


def test_no_warning_in_a_private_chat(say):
    replies = say(f"{QUESTION}, sđt em {PHONE}", group=False)
    assert replies and not warnings(replies)


def test_a_question_with_a_number_is_still_answered_and_the_answer_does_not_quote_it(say):
    replies = say(f"{QUESTION}, sđt em {PHONE}", sender="u9")
    [answer] = [r for r in replies if r.text != WARNING]
    assert "VNeID" in answer.text and answer.mention_user_id == "u9"
    assert answer.reply_to is None
    assert len(warnings(replies)) == 1


def test_a_question_without_a_number_is_quoted_as_usual_and_not_warned(say):
    [answer] = say(QUESTION)
    assert answer.reply_to == "m1"


def test_service_hotlines_are_not_personal_numbers(say):
    assert not warnings(say("tổng đài 1900 9068 với 18001096 gọi mãi không được"))


def test_a_team_member_posting_a_number_is_not_warned(say, session):
    seed_village(session)
    session.commit()
    assert say(f"bà con cần gì gọi em {PHONE} nhé", sender="minh-z") == []


def test_through_the_worker_the_stored_texts_are_masked_and_nothing_posted_repeats_the_number(runtime, session):
    seed_village(session)
    asked = message(f"xin giấy phép xây dựng nhà ở nông thôn cần những gì, sđt em {PHONE}", mentions_bot=True)
    inbox.record(session, [asked], utcnow())
    session.commit()
    Worker(runtime, Engine(build_handlers())).process_inbox()

    stored = session.exec(select(InboxMessage)).one()
    escalation = session.exec(select(Escalation)).one()
    posted = session.exec(select(OutboxMessage)).all()
    assert PHONE not in stored.text and MASK in stored.text
    assert PHONE not in escalation.question and MASK in escalation.question
    assert WARNING in [row.text for row in posted if row.chat_id == "g1"]
    assert all(PHONE not in row.text for row in posted)


def test_a_relayed_answer_does_not_quote_a_group_question_that_held_a_number(runtime, session):
    seed_village(session)
    session.commit()
    asked, _ = handoff.escalate(session, message(f"xin giấy phép xây dựng, sđt em {PHONE}", number=1), [], utcnow(),
                                str)
    plain, _ = handoff.escalate(session, message("xin giấy phép xây dựng cần gì", number=2), [], utcnow(), str)
    minh = handoff.member_for(session, "zalo", "minh-z")
    [relay] = handoff.answer(session, asked, "Bác ra xã làm đơn ạ", utcnow(), member=minh)
    [quoted] = handoff.answer(session, plain, "Bác ra xã làm đơn ạ", utcnow(), member=minh)
    assert relay.reply_to is None and relay.mention_user_id == "u1"
    assert quoted.reply_to == "m2"
