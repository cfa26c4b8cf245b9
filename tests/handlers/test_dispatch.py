"""The ordered handler list as the worker runs it: who speaks, who stays quiet, what is recorded."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.engine import Context, Engine
from bot.messages import Attachment, ChatKind, IncomingMessage
from bot.tables import Escalation, LastAnswer
from handlers.follow import WELCOME
from handlers.media import CANNOT_READ, STICKER
from main import build_handlers


@pytest.fixture
def say(runtime, session):
    engine = Engine(build_handlers())

    def run(text: str = "", *, group: bool = False, event: str = "message", attachments=(), mentions_bot=False,
            sender: str = "u1", message_id: str = "m1"):
        message = IncomingMessage(platform="zalo", chat_id="g1" if group else sender,
                                  chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE, sender_id=sender,
                                  message_id=message_id, text=text, event=event, attachments=tuple(attachments),
                                  mentions_bot=mentions_bot)
        out = engine.process(message, Context(session, runtime.knowledge(session), runtime.settings))
        session.commit()
        return out

    return run


def test_a_question_in_private_gets_the_faq_answer(say):
    [out] = say("quen mat khau vneid thi lam sao")
    assert "VNeID" in out.text and out.mention_user_id is None


def test_a_question_in_a_group_is_addressed_to_the_asker(say):
    [out] = say("cho hỏi quên mật khẩu vneid thì lấy lại thế nào ạ", group=True, sender="u42")
    assert out.chat_id == "g1" and out.mention_user_id == "u42"


@pytest.mark.parametrize("event", ["echo", "unfollow", "standby"])
def test_echoes_and_other_apps_threads_never_trigger_the_bot(say, event):
    assert say("quen mat khau vneid", event=event) == []


def test_a_new_follower_is_welcomed(say):
    [out] = say(event="follow")
    assert out.text == WELCOME


def test_a_photo_in_private_gets_a_request_to_type(say):
    [out] = say(attachments=[Attachment("image", "https://example.invalid/a.jpg")])
    assert out.text == CANNOT_READ


def test_a_sticker_in_private_gets_a_light_reply(say):
    [out] = say(attachments=[Attachment("sticker")])
    assert out.text == STICKER


def test_media_in_a_group_is_ignored_unless_the_bot_is_mentioned(say):
    assert say(attachments=[Attachment("image")], group=True) == []
    [out] = say(attachments=[Attachment("voice")], group=True, mentions_bot=True)
    assert out.text == CANNOT_READ


def test_an_unanswerable_question_is_recorded_and_the_asker_told_its_number(say, session):
    [out] = say("xin giấy phép xây dựng nhà ở nông thôn cần những gì, sđt em 0912345678")
    escalation = session.exec(select(Escalation)).one()
    assert f"#{escalation.id}" in out.text
    assert escalation.status == "open" and escalation.asker_id == "u1"
    assert "0912345678" not in escalation.question and "giấy phép xây dựng" in escalation.question


def test_the_question_remembered_for_feedback_keeps_no_personal_number(say, session):
    [out] = say("quen mat khau vneid, sdt cua bac 0912345678 thi lam sao")
    assert "VNeID" in out.text
    [remembered] = session.exec(select(LastAnswer)).all()
    assert "0912345678" not in remembered.question and "[số đã ẩn]" in remembered.question


def test_a_private_question_handed_to_the_team_offers_its_likely_entries_and_a_number_picks_one(runtime, session):
    from knowledge.base import Entry, KnowledgeBase
    from knowledge.shipped import shipped_lexicon
    from knowledge.decide import Thresholds

    lost = Entry("the-mat", "Mất thẻ căn cước thì làm lại thế nào?", "Dạ, mất thẻ thì làm lại ở công an xã.",
                 ("mất thẻ căn cước làm lại ở đâu", "đánh rơi thẻ căn cước ở chợ"))
    fee = Entry("le-phi", "Làm thẻ căn cước hết bao nhiêu tiền?", "Dạ, lệ phí theo quy định.",
                ("lệ phí làm thẻ căn cước",))
    # Between two entries the classifier is sure of nearly anything: its agreement would answer this story.
    kb = KnowledgeBase([lost, fee], shipped_lexicon(), out_of_scope={}, thresholds=Thresholds(opinion_sure=1.1))
    engine = Engine(build_handlers())

    def say(text: str, message_id: str) -> list:
        message = IncomingMessage(platform="zalo", chat_id="u1", chat_kind=ChatKind.PRIVATE, sender_id="u1",
                                  message_id=message_id, text=text)
        out = engine.process(message, Context(session, kb, runtime.settings))
        session.commit()
        return out

    story = "bà nhà tôi đi chợ phiên để quên cái ví ở hàng rau, trong ví có thẻ căn cước, giờ mất thẻ thì sao"
    [handed] = [o for o in say(story, "m1") if o.chat_id == "u1"]
    assert len(session.exec(select(Escalation)).all()) == 1
    assert "tổ công nghệ số" in handed.text and "1. Mất thẻ căn cước thì làm lại thế nào?" in handed.text
    [picked] = say("1", "m2")
    assert picked.text == "Dạ, mất thẻ thì làm lại ở công an xã."
