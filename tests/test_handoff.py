"""The hand-off loop end to end: escalation, the team told in private, a member's answer relayed back."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

import deliveries as d
from bot import people
from bot.tables import Escalation, OutboxMessage
from fake_platform import FakePlatform
from knowledge.models import FaqSuggestion, utcnow
from main import create_app
from village import seed_village

UNANSWERABLE = "xin giấy phép xây dựng nhà ở nông thôn cần những gì ạ"
GROUP = "g-dong"


@pytest.fixture
def app(live_settings):
    application = create_app(live_settings)
    with application.state.runtime.session() as s:
        seed_village(s)
        people.link_chat(s, "zalo", GROUP, "Thôn Đông")
        people.link_chat(s, "zalo", "u-private", "Thôn Đông")
        people.link_chat(s, "facebook", "p-villager", "Thôn Đông")
        s.commit()
    yield application
    application.state.runtime.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


class Chat:
    """Posts signed deliveries and reads what reached the fake platform, by recipient."""

    def __init__(self, client: TestClient, fake: FakePlatform) -> None:
        self.client, self.fake = client, fake

    def zalo(self, text: str, sender: str, group: str | None = None) -> None:
        body, headers = d.zalo(text, sender=sender, group=group)
        assert self.client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200

    def facebook(self, text: str, psid: str) -> None:
        body, headers = d.facebook([d.messenger_event(text, psid=psid)])
        assert self.client.post("/webhooks/facebook", content=body, headers=headers).status_code == 200

    def expect(self, n: int) -> list[tuple[str, str]]:
        """Wait for n more deliveries; returns (recipient, text) of the new ones."""
        seen = getattr(self, "_seen", 0)
        assert self.fake.wait_for(seen + n, timeout=10), self.fake.texts()
        time.sleep(0.15)  # anything extra would arrive now
        sent = self.fake.delivered
        assert len(sent) == seen + n, [r.text for r in sent[seen:]]
        self._seen = len(sent)
        return [(r.recipient, r.text) for r in sent[seen:]]


@pytest.fixture
def chat(client, fake) -> Chat:
    return Chat(client, fake)


def escalations(app) -> list[Escalation]:
    with app.state.runtime.session() as s:
        return list(s.exec(select(Escalation).order_by(Escalation.id)).all())


def suggestions(app) -> list[FaqSuggestion]:
    with app.state.runtime.session() as s:
        return list(s.exec(select(FaqSuggestion).order_by(FaqSuggestion.id)).all())


def test_zalo_group_question_goes_to_the_team_and_the_answer_comes_back_in_the_group(chat, app):
    chat.zalo(UNANSWERABLE, sender="u-asker", group=GROUP)
    sent = dict(chat.expect(3))
    [esc] = escalations(app)
    assert f"#{esc.id}" in sent[GROUP] and sent[GROUP].startswith("[@u-asker]")
    for member in ("lan-z", "minh-z"):
        assert f"#{esc.id}" in sent[member] and "giấy phép xây dựng" in sent[member] and "Thôn Đông" in sent[member]
    assert "tu-z" not in sent  # another village's team is not told

    chat.zalo(f"#{esc.id} Dạ bác mang sổ đỏ và bản vẽ ra bộ phận một cửa của xã ạ", sender="minh-z")
    sent = dict(chat.expect(2))
    assert sent[GROUP].startswith("[@u-asker] ") and "bản vẽ" in sent[GROUP] and "Anh Minh" in sent[GROUP]
    assert f"#{esc.id}" in sent["minh-z"]
    [esc] = escalations(app)
    assert esc.status == "answered" and esc.answered_by_name == "Anh Minh"
    [suggestion] = suggestions(app)
    assert suggestion.kind == "new" and "bản vẽ" in suggestion.answer and "giấy phép" in suggestion.question

    chat.zalo(f"#{esc.id} một câu trả lời nữa", sender="lan-z")
    [(to, text)] = chat.expect(1)
    assert to == "lan-z" and "đã được Anh Minh trả lời" in text


def test_a_private_question_is_held_while_it_waits_and_answered_by_the_claiming_member(chat, app):
    chat.zalo(UNANSWERABLE, sender="u-private")
    chat.expect(3)
    [esc] = escalations(app)
    chat.zalo("sao lâu thế, có ai không ạ", sender="u-private")
    chat.zalo("/nhan " + str(esc.id), sender="minh-z")
    [(to, text)] = chat.expect(1)  # the villager's nudge got no reply; the claim is confirmed
    assert to == "minh-z" and "đã nhận" in text
    assert escalations(app)[0].thread == ["sao lâu thế, có ai không ạ"]

    chat.zalo("/ds", sender="lan-z")
    [(to, text)] = chat.expect(1)
    assert to == "lan-z" and f"#{esc.id} [đã nhận]" in text

    chat.zalo(f"/tra loi  {esc.id}   Dạ bác lên xã hỏi cán bộ địa chính ạ", sender="minh-z")
    sent = dict(chat.expect(2))
    assert "cán bộ địa chính" in sent["u-private"] and "Anh Minh" in sent["u-private"]
    chat.zalo("quen mat khau vneid", sender="u-private")
    [(to, text)] = chat.expect(1)
    assert to == "u-private" and "VNeID" in text


def test_messenger_answer_linked_to_an_existing_entry_relays_it_and_proposes_a_phrasing(chat, app):
    chat.facebook(UNANSWERABLE, psid="p-villager")
    sent = dict(chat.expect(2))
    [esc] = escalations(app)
    assert f"#{esc.id}" in sent["p-villager"] and f"#{esc.id}" in sent["lan-fb"]
    chat.facebook(f"#{esc.id} = dvc-dat-dai", psid="lan-fb")
    sent = dict(chat.expect(2))
    assert "Chị Lan" in sent["p-villager"] and f"#{esc.id}" in sent["lan-fb"]
    [suggestion] = suggestions(app)
    assert suggestion.kind == "phrasing" and suggestion.faq_id == "dvc-dat-dai"


def test_a_reply_from_the_page_inbox_counts_as_the_human_answer(chat, app, client):
    chat.facebook(UNANSWERABLE, psid="p-villager")
    chat.expect(2)
    echo = {"sender": {"id": d.PAGE_ID}, "recipient": {"id": "p-villager"}, "timestamp": 1,
            "message": {"mid": "m_echo_1", "text": "Dạ em gọi lại cho bác nhé", "is_echo": True}}
    body, headers = d.facebook([echo])
    client.post("/webhooks/facebook", content=body, headers=headers)
    time.sleep(0.3)
    [esc] = escalations(app)
    assert esc.status == "answered" and esc.answer == "Dạ em gọi lại cho bác nhé"


def test_saying_the_answer_was_wrong_hands_the_question_to_the_team(chat, app):
    chat.zalo("quen mat khau vneid lam sao", sender="u-private")
    chat.expect(1)
    chat.zalo("sai rồi, vẫn không được", sender="u-private")
    sent = dict(chat.expect(3))
    [esc] = escalations(app)
    assert esc.bot_answer == "vneid-quen-mat-khau" and esc.question == "quen mat khau vneid lam sao"
    assert "vneid-quen-mat-khau" in sent["lan-z"] and f"#{esc.id}" in sent["u-private"]


def test_commands_refuse_clearly_an_unknown_number_and_another_teams_question(chat, app):
    chat.zalo(UNANSWERABLE, sender="u-asker", group=GROUP)
    chat.expect(3)
    [esc] = escalations(app)
    chat.zalo("#999 trả lời", sender="minh-z")
    chat.zalo(f"#{esc.id} tôi trả lời hộ", sender="tu-z")
    sent = dict(chat.expect(2))
    assert "Không có câu hỏi #999" in sent["minh-z"] and "tổ khác" in sent["tu-z"]
    assert escalations(app)[0].status == "open"


def test_a_leader_links_a_group_from_inside_it(chat, app):
    chat.zalo("/liên kết", sender="lan-z", group="g-new")
    [(to, text)] = chat.expect(1)
    assert to == "g-new" and "liên kết" in text
    chat.zalo(UNANSWERABLE, sender="u9", group="g-new")
    assert {to for to, _ in chat.expect(3)} == {"g-new", "lan-z", "minh-z"}


def test_a_refused_notification_falls_back_to_the_staff_group(chat, app, fake):
    with app.state.runtime.session() as s:
        people.link_chat(s, "zalo", "u-tay", "Thôn Tây")
        people.link_chat(s, "zalo", "g-staff-tay", "Thôn Tây", staff=True)
        s.commit()
    fake.fail_next(2, "permanent")  # the asker's reply and the one member's notification are refused
    chat.zalo(UNANSWERABLE, sender="u-tay")
    [(to, text)] = chat.expect(1)
    [esc] = escalations(app)
    assert to == "g-staff-tay" and "Không nhắn riêng được" in text and f"#{esc.id}" in text
    with app.state.runtime.session() as s:
        failed = s.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert "notify" in {r.purpose for r in failed}


def test_unclaimed_questions_remind_members_then_the_leader_outside_quiet_hours(chat, app):
    rt, worker = app.state.runtime, app.state.service.worker
    chat.zalo(UNANSWERABLE, sender="u-private")
    chat.expect(3)
    # Yesterday's: reminders are queued at the runtime's clock and sent when due by the real one.
    noon_in_hanoi = (utcnow() - timedelta(days=1)).replace(hour=5, minute=0, second=0, microsecond=0)
    with rt.session() as s:
        [esc] = s.exec(select(Escalation)).all()
        esc.created_at = noon_in_hanoi
        s.add(esc)
        s.commit()

    def clock_at(minutes: int) -> None:
        rt.clock = lambda: noon_in_hanoi + timedelta(minutes=minutes)

    clock_at(10)
    assert worker.send_reminders() == 0
    clock_at(31)
    assert worker.send_reminders() == 2  # both members of the team
    assert worker.send_reminders() == 0  # not repeated
    clock_at(61)
    assert worker.send_reminders() == 1  # now the leader
    clock_at(15 * 60)  # 03:00 in Hà Nội: quiet hours
    assert worker.send_reminders() == 0
    sent = dict(chat.expect(3))
    assert "Nhắc việc" in sent["minh-z"] and "Báo tổ trưởng" in sent["lan-z"]


def test_troly_escalations_lists_them_as_json(chat, app, database_url, monkeypatch, capsys, tmp_path):
    import main

    chat.zalo(UNANSWERABLE, sender="u-asker", group=GROUP)
    chat.expect(3)
    monkeypatch.setenv("TROLY_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main.cli(["escalations", "--json", "--status", "open"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["status"] == "open" and row["team"] == "Thôn Đông" and "giấy phép" in row["question"]
