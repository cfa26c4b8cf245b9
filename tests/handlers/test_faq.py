"""The FAQ handler in a village group: it answers, hands village matters to the team, and keeps out of chatter."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.engine import Context
from bot.messages import ChatKind, IncomingMessage
from bot.tables import Escalation
from handlers.faq import FaqHandler


@pytest.fixture
def group(runtime, session):
    def run(text: str) -> list:
        message = IncomingMessage(platform="zalo", chat_id="g1", chat_kind=ChatKind.GROUP, sender_id="u1",
                                  message_id="m1", text=text)
        out = FaqHandler().handle(message, Context(session, runtime.knowledge(session), runtime.settings))
        session.commit()
        return out

    return run


@pytest.mark.parametrize("text", ["Chiều nay ai đi đá bóng không anh em?", "nhà ai có bưởi bán cho em 2 quả không",
                                  "mai đi ăn cỗ nhà bác Tư mấy giờ hả mọi người?"])
def test_social_chatter_in_a_group_gets_no_reply_and_no_hand_off(group, session, text):
    assert group(text) == []
    assert session.exec(select(Escalation)).all() == []


def test_a_village_matter_in_a_group_is_handed_to_the_team(group, session):
    [out] = group("Rác ở đầu thôn mấy hôm nay không ai thu gom, báo ai ạ?")
    assert "tổ công nghệ số" in out.text
    assert len(session.exec(select(Escalation)).all()) == 1


def test_a_faq_question_with_a_typo_in_a_group_gets_its_answer(group):
    [out] = group("mn oi quen mat khua vneid thi lam the nao a")
    assert "VNeID" in out.text
