"""Team commands are read with or without diacritics and with stray spaces."""

from __future__ import annotations

import pytest

from bot.messages import ChatKind, IncomingMessage
from handlers.team import ANSWER, CLAIM, DUTY, LINK, LINK_GROUP, LIST, RELEASE, command_text


def folded(text: str) -> str:
    return command_text(IncomingMessage("zalo", "c", ChatKind.PRIVATE, "u", "m", text=text))[0]


@pytest.mark.parametrize("text", ["#12 Dạ bác ra xã", "# 12 Dạ bác ra xã", "#12: Dạ bác ra xã", "/traloi 12 Dạ bác ra xã",
                                  "/trả lời 12 Dạ bác ra xã", "/tra loi #12   Dạ bác ra xã", "/ Trả Lời 12 Dạ bác ra xã"])
def test_answers(text):
    m = ANSWER.match(folded(text))
    assert m and m.group(1) == "12" and m.group(2).strip() == "da bac ra xa"


def test_the_answer_keeps_its_diacritics():
    message = IncomingMessage("zalo", "c", ChatKind.PRIVATE, "u", "m", text="/trả lời 12 Dạ bác ra xã ạ")
    low, original = command_text(message)
    assert original[ANSWER.match(low).start(2):] == "Dạ bác ra xã ạ"


@pytest.mark.parametrize("pattern, text", [
    (CLAIM, "/nhận 12"), (CLAIM, "/nhan  #12"), (RELEASE, "/hủy 12"), (RELEASE, "/huy 12 "), (LIST, "/ds"),
    (LIST, "/DS"), (DUTY, "/trực"), (DUTY, "/nghỉ"), (LINK_GROUP, "/liên kết"), (LINK_GROUP, "/lienket"),
    (LINK, "#12 = vneid-quen-mat-khau"), (LINK, "#12=vneid-quen-mat-khau"),
])
def test_commands(pattern, text):
    assert pattern.match(folded(text))


@pytest.mark.parametrize("text", ["#", "#abc", "/nhan", "/nhan mười hai", "12 Dạ bác", "#12"])
def test_not_an_answer(text):
    assert not ANSWER.match(folded(text))
