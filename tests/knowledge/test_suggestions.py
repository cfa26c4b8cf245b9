"""Suggestions learnt from people's answers change the FAQ, and the matcher follows at once."""

from __future__ import annotations

import pytest

from knowledge import suggestions
from knowledge.suggestions import SuggestionError

QUESTION = "xin giấy phép xây dựng nhà ở nông thôn cần những gì"


def test_an_accepted_new_entry_is_answered_by_the_bot_right_away(runtime, session):
    assert runtime.knowledge(session).ask(QUESTION).decision.kind != "answer"
    row = suggestions.propose(session, QUESTION, "Dạ, bác mang sổ đỏ và bản vẽ ra bộ phận một cửa của xã ạ.",
                              source="escalation #1", author="Anh Minh")
    session.commit()
    faq_id = suggestions.accept(session, row.id, "admin", new_id="giay-phep-xay-dung")
    session.commit()
    outcome = runtime.knowledge(session).ask(QUESTION)
    assert faq_id == "giay-phep-xay-dung"
    assert outcome.decision.kind == "answer" and outcome.decision.faq_id == faq_id and "bản vẽ" in outcome.reply


def test_an_accepted_phrasing_is_added_to_the_named_entry(runtime, session):
    row = suggestions.propose(session, "dt bi mat sim thi vneid dang nhap sao", "…", source="escalation #2",
                              author="Chị Lan", faq_id="vneid-quen-mat-khau")
    session.commit()
    suggestions.accept(session, row.id, "admin")
    session.commit()
    entry = runtime.knowledge(session).entries["vneid-quen-mat-khau"]
    assert "dt bi mat sim thi vneid dang nhap sao" in entry.phrasings


def test_a_decided_suggestion_cannot_be_decided_again(session):
    row = suggestions.propose(session, QUESTION, "…", source="escalation #3", author="x")
    session.commit()
    suggestions.reject(session, row.id, "admin")
    session.commit()
    with pytest.raises(SuggestionError):
        suggestions.accept(session, row.id, "admin")
    assert suggestions.pending(session) == []
