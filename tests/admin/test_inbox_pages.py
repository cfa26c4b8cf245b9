"""The escalation inbox, the FAQ suggestions queue and the statistics page: roles, teams, the relay, escaping."""

from __future__ import annotations

import itertools
import sys
import types
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

import admin
from admin import app as admin_app
from bot import handoff, inbox, outbox, people
from bot.engine import Engine
from bot.messages import ChatKind, IncomingMessage, OutgoingMessage
from bot.tables import Escalation, OutboxMessage, Team
from bot.worker import Worker
from knowledge.models import FaqSuggestion, utcnow
from main import build_handlers

HOUSE = "xin giấy phép xây dựng nhà ở nông thôn cần những gì ạ"
BEES = "đăng ký nuôi ong lấy mật cần giấy tờ gì ạ"
DOG = "chó nhà hàng xóm cắn gà nhà em thì báo ai ạ"
XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)> nuôi ong cần giấy tờ gì ạ"
ANSWER = "Dạ bác mang sổ đỏ và bản vẽ ra bộ phận một cửa của xã ạ"

_ids = itertools.count(1)


class Village:
    """Chat messages run through the real worker and handlers, as if a platform had delivered them."""

    def __init__(self, app: FastAPI) -> None:
        self.rt = app.state.runtime
        self.worker = Worker(self.rt, Engine(build_handlers()))

    def say(self, text: str, sender: str, group: str | None = None, name: str | None = None) -> None:
        message = IncomingMessage(platform="zalo", chat_id=group or sender,
                                  chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE, sender_id=sender,
                                  sender_name=name, message_id=f"m{next(_ids)}", text=text, mentions_bot=bool(group))
        with self.rt.session() as s:
            inbox.record(s, [message], utcnow())
            s.commit()
        assert self.worker.process_inbox() == 1

    def escalate(self, text: str, asker: str, group: str | None = None, name: str | None = None) -> int:
        """A villager's question (in a group, or in private) that the bot hands to the team; returns its number."""
        self.say(text, asker, group, name)
        with self.rt.session() as s:
            esc = s.exec(select(Escalation).order_by(Escalation.id.desc())).first()
        assert esc is not None and esc.asker_id == asker, "the question was not escalated"
        return esc.id

    def escalation(self, number: int) -> Escalation:
        with self.rt.session() as s:
            return s.get(Escalation, number)

    def rows(self, purpose: str, number: int | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        if number is not None:
            query = query.where(OutboxMessage.escalation_id == number)
        with self.rt.session() as s:
            return list(s.exec(query).all())

    def suggestions(self) -> list[FaqSuggestion]:
        with self.rt.session() as s:
            return list(s.exec(select(FaqSuggestion).order_by(FaqSuggestion.id)).all())

    def team_id(self, name: str) -> int:
        with self.rt.session() as s:
            return s.exec(select(Team).where(Team.name == name)).one().id


@pytest.fixture
def village(web_app) -> Village:
    with web_app.state.runtime.session() as s:
        people.link_chat(s, "zalo", "g-dong", "Thôn Đông")
        people.link_chat(s, "zalo", "g-tay", "Thôn Tây")
        people.link_chat(s, "zalo", "u-private", "Thôn Đông")
        s.commit()
    return Village(web_app)


def form(client: TestClient, **fields: str) -> dict[str, str]:
    """A form as the page posts it: the CSRF token travels as a field."""
    return {"csrf": client.headers["X-CSRF-Token"], **fields}


# --- the inbox: roles and teams ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/inbox", "/admin/inbox/1", "/admin/suggestions", "/admin/stats"])
def test_anonymous_visitors_are_asked_to_log_in(anonymous, path):
    response = anonymous.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


def test_members_see_only_their_own_teams_questions(village, as_member, as_other_member):
    dong = village.escalate(HOUSE, "u-1", "g-dong", name="Bác Ba")
    tay = village.escalate(BEES, "u-2", "g-tay")
    page = as_member.get("/admin/inbox").text
    assert f"#{dong}" in page and "giấy phép xây dựng" in page and "nuôi ong" not in page
    assert "Bác Ba" in page and "Thôn Đông, xã An Phú" in page and "trong nhóm · Zalo" in page and "đã chờ" in page
    other = as_other_member.get("/admin/inbox").text
    assert "nuôi ong" in other and "giấy phép xây dựng" not in other
    assert as_other_member.get(f"/admin/inbox/{tay}").status_code == 200


def test_another_teams_question_is_refused_on_its_page_and_to_its_forms(village, as_other_member):
    dong = village.escalate(HOUSE, "u-1", "g-dong")
    page = as_other_member.get(f"/admin/inbox/{dong}")
    assert page.status_code == 403 and "tổ khác" in page.text and "giấy phép xây dựng" not in page.text
    for action, fields in (("answer", {"text": ANSWER}), ("claim", {}), ("link", {"faq_id": "dvc-dat-dai"})):
        response = as_other_member.post(f"/admin/inbox/{dong}/{action}", data=form(as_other_member, **fields))
        assert response.status_code == 403
    assert village.escalation(dong).status == "open" and village.rows("relay") == []


def test_a_private_question_shows_the_askers_follow_ups(village, as_member):
    number = village.escalate(HOUSE, "u-private")
    village.say("sao lâu thế, có ai không ạ", "u-private")
    page = as_member.get(f"/admin/inbox/{number}").text
    assert "nhắn riêng · Zalo" in page and "Người hỏi nhắn thêm" in page and "sao lâu thế, có ai không ạ" in page


def test_an_unknown_question_number_is_not_found(village, as_member):
    assert as_member.get("/admin/inbox/999").status_code == 404


def test_an_admin_sees_every_team_and_can_filter_one(village, as_admin):
    village.escalate(HOUSE, "u-1", "g-dong")
    village.escalate(BEES, "u-2", "g-tay")
    page = as_admin.get("/admin/inbox").text
    assert "giấy phép xây dựng" in page and "nuôi ong" in page and "Tất cả các tổ" in page
    only_tay = as_admin.get(f"/admin/inbox?team={village.team_id('Thôn Tây')}").text
    assert "nuôi ong" in only_tay and "giấy phép xây dựng" not in only_tay


def test_tabs_list_open_claimed_and_answered_questions(village, as_member):
    first = village.escalate(HOUSE, "u-1", "g-dong")
    second = village.escalate(DOG, "u-2", "g-dong")
    as_member.post(f"/admin/inbox/{first}/claim", data=form(as_member))
    as_member.post(f"/admin/inbox/{second}/answer", data=form(as_member, text=ANSWER))
    claimed = as_member.get("/admin/inbox?status=claimed").text
    assert "giấy phép xây dựng" in claimed and "Anh Minh đang nhận" in claimed and "chó nhà" not in claimed
    answered = as_member.get("/admin/inbox?status=answered").text
    assert "chó nhà" in answered and ANSWER in answered and "trả lời sau" in answered
    assert "Không có câu hỏi nào" in as_member.get("/admin/inbox?status=open").text


# --- answering from the page ---------------------------------------------------------------------------------


def test_an_answer_from_the_page_is_relayed_exactly_as_the_chat_command_relays_it(web_app, village, as_member):
    woken: list[str] = []
    app = FastAPI()
    admin_app.mount(app, web_app.state.runtime, lambda: woken.append("wake"))
    from_page = village.escalate(HOUSE, "u-1", "g-dong")
    from_chat = village.escalate(HOUSE, "u-2", "g-dong")
    with TestClient(app, cookies=dict(as_member.cookies), headers=dict(as_member.headers)) as client:
        response = client.post(f"/admin/inbox/{from_page}/answer", data=form(as_member, text=ANSWER),
                               follow_redirects=False)
    assert response.status_code == 303 and woken == ["wake"]
    village.say(f"#{from_chat} {ANSWER}", "minh-z")

    [page_row] = village.rows("relay", from_page)
    [chat_row] = village.rows("relay", from_chat)
    assert page_row.text == handoff.RELAY.format(id=from_page, answer=ANSWER, member="Anh Minh")
    assert page_row.text == chat_row.text.replace(f"#{from_chat}", f"#{from_page}")
    assert (page_row.platform, page_row.chat_id, page_row.chat_kind) == ("zalo", "g-dong", "group")
    assert (chat_row.platform, chat_row.chat_id, chat_row.chat_kind) == ("zalo", "g-dong", "group")
    assert (page_row.mention_user_id, chat_row.mention_user_id) == ("u-1", "u-2")  # the group mention
    assert page_row.reply_to == village.escalation(from_page).message_id
    esc = village.escalation(from_page)
    assert esc.status == "answered" and esc.answered_by_name == "Anh Minh" and esc.answer == ANSWER
    assert [s.kind for s in village.suggestions()] == ["new", "new"]
    page = as_member.get(response.headers["location"]).text
    assert "Đã gửi câu trả lời tới người hỏi" in page and "Đang gửi câu trả lời" in page


def test_a_second_answer_is_refused_with_the_polite_text(village, as_member, as_leader):
    number = village.escalate(HOUSE, "u-1", "g-dong")
    as_member.post(f"/admin/inbox/{number}/answer", data=form(as_member, text=ANSWER))
    again = as_leader.post(f"/admin/inbox/{number}/answer", data=form(as_leader, text="một câu trả lời nữa"))
    assert again.status_code == 409 and "đã được Anh Minh trả lời rồi" in again.text
    assert len(village.rows("relay", number)) == 1 and village.escalation(number).answer == ANSWER


def test_an_empty_answer_is_not_sent(village, as_member):
    number = village.escalate(HOUSE, "u-1", "g-dong")
    response = as_member.post(f"/admin/inbox/{number}/answer", data=form(as_member, text="   "))
    assert response.status_code == 409 and "hãy viết câu trả lời" in response.text
    assert village.escalation(number).status == "open"


def test_a_form_without_the_csrf_token_is_refused(village, as_member):
    number = village.escalate(HOUSE, "u-1", "g-dong")
    response = as_member.post(f"/admin/inbox/{number}/answer", data={"csrf": "wrong", "text": ANSWER})
    assert response.status_code == 403 and village.rows("relay") == []


def test_linking_an_entry_relays_its_answer_and_proposes_a_new_phrasing(web_app, village, as_member):
    number = village.escalate(DOG, "u-1", "g-dong")
    unknown = as_member.post(f"/admin/inbox/{number}/link", data=form(as_member, faq_id="khong-co"))
    assert unknown.status_code == 409 and "Không có mục" in unknown.text
    as_member.post(f"/admin/inbox/{number}/link", data=form(as_member, faq_id="dvc-phan-anh-kien-nghi"))
    entry_answer = web_app.state.runtime.knowledge().answer_for("dvc-phan-anh-kien-nghi")
    [relay] = village.rows("relay", number)
    assert relay.text == handoff.RELAY.format(id=number, answer=entry_answer, member="Anh Minh")
    assert village.escalation(number).faq_id == "dvc-phan-anh-kien-nghi"
    [suggestion] = village.suggestions()
    assert (suggestion.kind, suggestion.faq_id, suggestion.question) == ("phrasing", "dvc-phan-anh-kien-nghi", DOG)


def test_the_entry_preview_shows_the_answer_that_would_be_sent(web_app, as_member):
    entry = as_member.get("/admin/inbox/entries/vneid-quen-mat-khau").json()
    assert entry["answer"] == web_app.state.runtime.knowledge().answer_for("vneid-quen-mat-khau")
    assert as_member.get("/admin/inbox/entries/khong-co").status_code == 404


def test_a_member_claims_a_question_and_the_leader_gives_it_back(village, as_member, as_leader):
    number = village.escalate(HOUSE, "u-1", "g-dong")
    response = as_member.post(f"/admin/inbox/{number}/claim", data=form(as_member))
    assert "Anh/chị đã nhận câu này" in response.text
    assert village.escalation(number).status == "claimed"
    taken = as_leader.post(f"/admin/inbox/{number}/claim", data=form(as_leader))
    assert taken.status_code == 409 and "đang do Anh Minh nhận" in taken.text
    assert "Đã trả câu này về danh sách chờ" in as_leader.post(f"/admin/inbox/{number}/release",
                                                                data=form(as_leader)).text
    assert village.escalation(number).status == "open"


def test_a_failed_notification_is_shown_with_its_error(village, as_member):
    number = village.escalate(HOUSE, "u-1", "g-dong")
    with village.rt.session() as s:
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.escalation_id == number,
                                                    OutboxMessage.purpose == "notify",
                                                    OutboxMessage.chat_id == "minh-z")).one()
        outbox.mark_failed(s, notice, "zalo -230: user has not interacted with the OA")
        s.commit()
    for path in ("/admin/inbox", f"/admin/inbox/{number}"):
        page = as_member.get(path).text
        assert "Chưa báo được cho tổ" in page
        assert "Không nhắn được cho Anh Minh: zalo -230: user has not interacted with the OA" in page
    assert "Bot đã báo thay vào nhóm của tổ" not in page
    with village.rt.session() as s:
        instead = OutgoingMessage(platform="zalo", chat_id="g-staff", chat_kind=ChatKind.GROUP, text="…",
                                  meta={"purpose": "notify-fallback", "escalation_id": number})
        [row] = outbox.enqueue(s, instead, utcnow())
        s.flush()
        outbox.mark_sent(s, row, utcnow(), ("z1",))
        s.commit()
    assert "Bot đã báo thay vào nhóm của tổ" in as_member.get(f"/admin/inbox/{number}").text


# --- escaping ------------------------------------------------------------------------------------------------


def test_markup_from_chats_is_shown_as_text(village, as_admin):
    number = village.escalate(XSS, "u-1", "g-dong", name="<b onmouseover=alert(2)>Bác Ba</b>")
    as_admin.post(f"/admin/inbox/{number}/answer", data=form(as_admin, text="<script>alert(3)</script>"))
    for path in ("/admin/inbox?status=answered", f"/admin/inbox/{number}", "/admin/suggestions"):
        page = as_admin.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<script>alert" not in page and "<img src=x" not in page and "<b onmouseover" not in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in as_admin.get(f"/admin/inbox/{number}").text


# --- FAQ suggestions -----------------------------------------------------------------------------------------


def test_only_admins_review_suggestions(village, as_leader, as_member):
    assert as_leader.get("/admin/suggestions").status_code == 403
    number = village.escalate(BEES, "u-1", "g-tay")
    with village.rt.session() as s:
        handoff.answer(s, s.get(Escalation, number), ANSWER, utcnow(), by_name="Anh Tú")
        s.commit()
    [suggestion] = village.suggestions()
    assert as_member.post(f"/admin/suggestions/{suggestion.id}/accept", data=form(as_member)).status_code == 403
    assert as_member.post(f"/admin/suggestions/{suggestion.id}/reject", data=form(as_member)).status_code == 403


def test_accepting_an_edited_new_entry_changes_the_matcher_at_once(web_app, village, as_admin, as_other_member):
    number = village.escalate(BEES, "u-1", "g-tay")
    as_other_member.post(f"/admin/inbox/{number}/answer", data=form(as_other_member, text=ANSWER))
    [suggestion] = village.suggestions()
    page = as_admin.get("/admin/suggestions").text
    assert "Mục hỏi đáp mới" in page and BEES in page and f'href="/admin/inbox/{number}"' in page
    edited = "Dạ, nuôi ong lấy mật không cần giấy phép, bác báo trưởng thôn là được ạ."
    response = as_admin.post(f"/admin/suggestions/{suggestion.id}/accept", data=form(
        as_admin, new_id="nuoi-ong", question=BEES, answer=edited, category="khac"))
    assert "Đã lưu vào bộ hỏi đáp (mục nuoi-ong)" in response.text and BEES not in response.text
    with web_app.state.runtime.session() as s:
        outcome = web_app.state.runtime.knowledge(s).ask(BEES)
    assert outcome.decision.kind == "answer" and outcome.decision.faq_id == "nuoi-ong" and edited in outcome.reply


def test_accepting_a_phrasing_makes_the_entry_answer_that_question(web_app, village, as_admin, as_member):
    number = village.escalate(DOG, "u-1", "g-dong")
    as_member.post(f"/admin/inbox/{number}/link", data=form(as_member, faq_id="dvc-phan-anh-kien-nghi"))
    [suggestion] = village.suggestions()
    assert "Cách hỏi mới cho một mục có sẵn" in as_admin.get("/admin/suggestions").text
    as_admin.post(f"/admin/suggestions/{suggestion.id}/accept", data=form(as_admin, question=DOG))
    with web_app.state.runtime.session() as s:
        outcome = web_app.state.runtime.knowledge(s).ask(DOG)
    assert outcome.decision.faq_id == "dvc-phan-anh-kien-nghi" and outcome.decision.kind == "answer"


def test_a_taken_or_malformed_id_is_refused_and_the_edits_are_kept(village, as_admin, as_other_member):
    number = village.escalate(BEES, "u-1", "g-tay")
    as_other_member.post(f"/admin/inbox/{number}/answer", data=form(as_other_member, text=ANSWER))
    [suggestion] = village.suggestions()
    taken = as_admin.post(f"/admin/suggestions/{suggestion.id}/accept", data=form(
        as_admin, new_id="vneid-quen-mat-khau", question=BEES, answer="câu trả lời đã sửa", category="khac"))
    assert taken.status_code == 409 and "đã có" in taken.text and "câu trả lời đã sửa" in taken.text
    malformed = as_admin.post(f"/admin/suggestions/{suggestion.id}/accept", data=form(
        as_admin, new_id="Nuôi ong", question=BEES, answer=ANSWER, category="khac"))
    assert malformed.status_code == 409 and "chữ thường không dấu" in malformed.text
    assert village.suggestions()[0].status == "pending"


def test_rejecting_a_suggestion_takes_it_off_the_queue(village, as_admin, as_other_member):
    number = village.escalate(BEES, "u-1", "g-tay")
    as_other_member.post(f"/admin/inbox/{number}/answer", data=form(as_other_member, text=ANSWER))
    [suggestion] = village.suggestions()
    page = as_admin.post(f"/admin/suggestions/{suggestion.id}/reject", data=form(as_admin)).text
    assert "Đã bỏ đề xuất" in page and "Không có đề xuất nào đang chờ" in page
    assert village.suggestions()[0].status == "rejected"
    again = as_admin.post(f"/admin/suggestions/{suggestion.id}/reject", data=form(as_admin))
    assert again.status_code == 409


# --- statistics ----------------------------------------------------------------------------------------------


def test_members_cannot_read_statistics(as_member):
    assert as_member.get("/admin/stats").status_code == 403


def test_statistics_show_the_figures_of_a_small_dataset_and_a_chart(village, as_leader, as_admin):
    village.say("quên mật khẩu VNeID thì làm sao ạ?", "u-1", "g-dong")
    village.say("quên mật khẩu VNeID thì làm sao ạ?", "u-2", "g-dong")
    number = village.escalate(HOUSE, "u-3", "g-dong")
    village.escalate(BEES, "u-4", "g-tay")  # another village: not in the leader's figures
    with village.rt.session() as s:
        esc = s.get(Escalation, number)
        esc.created_at = utcnow() - timedelta(minutes=30)
        s.add(esc)
        s.commit()
    as_leader.post(f"/admin/inbox/{number}/answer", data=form(as_leader, text=ANSWER))

    page = as_leader.get("/admin/stats").text
    assert "<dt>Câu hỏi</dt><dd>3</dd>" in page and "<dt>Bot trả lời</dt><dd>2</dd>" in page
    assert "<dt>Chuyển tổ</dt><dd>1</dd>" in page and "<dt>Người trả lời</dt><dd>1</dd>" in page
    assert "<strong>30.0 phút</strong>" in page
    assert "<svg" in page and 'class="bar-answered_by_bot"' in page and 'class="bar-escalated"' in page
    assert "Nên viết thêm vào bộ hỏi đáp" in page and HOUSE in page and BEES not in page
    assert "vneid-quen-mat-khau" in page and "Thôn Đông" in page
    everyone = as_admin.get("/admin/stats?days=30").text
    assert "<dt>Câu hỏi</dt><dd>4</dd>" in everyone and BEES in everyone and 'aria-current="page">30 ngày' in everyone


def test_a_leader_always_gets_the_own_teams_figures(village, as_leader, as_admin, monkeypatch):
    calls: list[tuple] = []
    stub = types.ModuleType("admin.statistics")
    stub.window_start = lambda until, days, zone: until - timedelta(days=days)
    stub.compute = lambda s, since, until, team_id, tz: calls.append((until - since, team_id, tz)) or {}
    monkeypatch.setitem(sys.modules, "admin.statistics", stub)
    monkeypatch.setattr(admin, "statistics", stub, raising=False)
    dong, tay = village.team_id("Thôn Đông"), village.team_id("Thôn Tây")
    as_leader.get(f"/admin/stats?team={tay}&days=90")
    as_admin.get(f"/admin/stats?team={tay}")
    as_admin.get("/admin/stats?days=12345")
    assert calls == [(timedelta(days=90), dong, "Asia/Ho_Chi_Minh"), (timedelta(days=7), tay, "Asia/Ho_Chi_Minh"),
                     (timedelta(days=7), None, "Asia/Ho_Chi_Minh")]
    assert "Chưa có số liệu" in as_admin.get("/admin/stats").text  # an empty result is not an error


def test_without_the_statistics_module_the_page_says_there_are_no_figures_yet(as_leader, monkeypatch):
    monkeypatch.setitem(sys.modules, "admin.statistics", None)
    monkeypatch.delattr(admin, "statistics", raising=False)
    page = as_leader.get("/admin/stats")
    assert page.status_code == 200 and "Chưa có số liệu" in page.text and "<svg" not in page.text


@pytest.mark.parametrize("path", ["/admin/inbox/9223372036854775808", "/admin/inbox/2147483648",
                                  "/admin/inbox/0"])
def test_a_number_no_question_can_have_is_refused_not_an_error(as_admin, path):
    assert as_admin.get(path).status_code == 422
