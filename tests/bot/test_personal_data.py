"""A person's data: exported as one JSON document, or forgotten (statistics keep their counts, nothing names them)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot import inbox, people, personal_data
from bot.engine import Engine
from bot.messages import ChatKind, IncomingMessage
from bot.tables import ChatLink, Escalation, InboxMessage, LastAnswer, OutboxMessage, PendingChoice, User
from bot.worker import Worker
from knowledge.models import utcnow
from main import build_handlers
from village import seed_village

HA, BINH, MINH = "villager-ha", "villager-binh", "minh-z"
PHONE = "0912345678"
TRANSCRIPT_TABLES = (InboxMessage, OutboxMessage, Escalation, PendingChoice, LastAnswer, ChatLink)


class Village:
    """Messages go through the real inbox, worker and handlers, as they do in production."""

    def __init__(self, runtime) -> None:
        self.rt = runtime
        self.worker = Worker(runtime, Engine(build_handlers()))
        self.sent = 0

    def say(self, sender: str, text: str, *, group: str | None = None, name: str | None = None) -> None:
        self.sent += 1
        message = IncomingMessage(platform="zalo", chat_id=group or sender,
                                  chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE, sender_id=sender,
                                  message_id=f"m{self.sent}", text=text, sender_name=name, mentions_bot=bool(group))
        with self.rt.session() as s:
            inbox.record(s, [message], utcnow())
            s.commit()
        self.worker.process_inbox()

    def escalation_of(self, text: str) -> Escalation:
        with self.rt.session() as s:
            return next(e for e in s.exec(select(Escalation)).all() if text in e.question)


@pytest.fixture
def village(runtime) -> Village:
    with runtime.session() as s:
        seed_village(s)
        people.link_chat(s, "zalo", "g-dong", "Thôn Đông")
        people.link_chat(s, "zalo", HA, "Thôn Đông")
        s.commit()
    v = Village(runtime)
    v.say(HA, "quên mật khẩu vneid", name="Bác Hà")
    v.say(HA, "vneid", name="Bác Hà")
    v.say(HA, "đăng ký nuôi chó cần giấy tờ gì ạ", name="Bác Hà")
    v.say(MINH, f"#{v.escalation_of('nuôi chó').id} Bác mang căn cước ra bộ phận một cửa của xã ạ")
    v.say(HA, f"xin giấy phép xây dựng nhà ở nông thôn cần những gì, sđt em {PHONE}", group="g-dong", name="Bác Hà")
    v.say(BINH, "quên mật khẩu vneid", name="Chú Bình")
    return v


def exported(runtime, person: str) -> dict:
    with runtime.session() as s:
        return personal_data.export(personal_data.find(s, "zalo", person))


def forget(runtime, person: str) -> dict[str, int]:
    with runtime.session() as s:
        removed = personal_data.forget(s, personal_data.find(s, "zalo", person))
        s.commit()
    return removed


def everything(runtime) -> str:
    """Every transcript row in the database, as text, to look for what should be gone."""
    with runtime.session() as s:
        return json.dumps([row.model_dump(mode="json") for table in TRANSCRIPT_TABLES
                           for row in s.exec(select(table)).all()], ensure_ascii=False)


def test_the_export_holds_everything_stored_about_the_person(village, runtime):
    doc = exported(runtime, HA)

    assert doc["user"] is None
    assert [m["text"] for m in doc["inbox"]][:3] == ["quên mật khẩu vneid", "vneid",
                                                     "đăng ký nuôi chó cần giấy tờ gì ạ"]
    assert len(doc["inbox"]) == 4 and PHONE not in json.dumps(doc)
    replies = [o["text"] for o in doc["outbox"]]
    assert any("VNeID" in t for t in replies) and any("bộ phận một cửa" in t for t in replies)
    assert {o["chat_id"] for o in doc["outbox"]} >= {HA, "g-dong", "lan-z", "minh-z"}  # the team was told
    assert sorted(e["status"] for e in doc["escalations"]) == ["answered", "open"]
    assert [p["options"][0] for p in doc["pending_choices"]] == ["vneid-cai-dat"]
    assert [link["chat_id"] for link in doc["chat_links"]] == [HA]
    assert [a["faq_id"] for a in doc["last_answers"]] == ["vneid-quen-mat-khau"]
    assert BINH not in json.dumps(doc) and "Chú Bình" not in json.dumps(doc)


def test_a_team_members_export_has_their_record_but_no_secrets(village, runtime):
    doc = exported(runtime, MINH)

    assert doc["user"]["name"] == "Anh Minh" and doc["user"]["has_password"] is True
    assert "password_hash" not in doc["user"]
    assert any(m["text"].startswith("#") for m in doc["inbox"])
    assert any("cần tổ trả lời" in o["text"] for o in doc["outbox"])  # the notifications they received


def test_forgetting_leaves_nothing_that_names_or_reaches_the_person(village, runtime):
    binh_before = exported(runtime, BINH)

    removed = forget(runtime, HA)

    assert removed["inbox_anonymised"] == 4 and removed["escalations_deleted"] == 1
    assert removed["escalations_anonymised"] == 1 and removed["pending_choices_deleted"] == 1
    with runtime.session() as s:
        assert personal_data.find(s, "zalo", HA).is_empty()
    stored = everything(runtime)
    assert HA not in stored and "Bác Hà" not in stored and "nuôi chó" not in stored and "xây dựng" not in stored
    assert exported(runtime, BINH) == binh_before


def test_what_statistics_count_stays_without_the_person(village, runtime):
    forget(runtime, HA)

    with runtime.session() as s:
        decisions = sorted(r.decision for r in s.exec(select(InboxMessage)).all() if r.sender_id == "forgotten")
        [answered] = s.exec(select(Escalation).where(Escalation.status == "answered")).all()
    assert decisions == ["answer", "escalate", "escalate", "suggest"]
    assert answered.answered_at is not None and answered.team_id is not None
    assert answered.question == personal_data.ERASED and answered.asker_id == "forgotten"


def test_forgetting_a_team_member_keeps_their_answers_counted_and_frees_their_claims(village, runtime):
    village.say(MINH, f"/nhan {village.escalation_of('xây dựng').id}")

    removed = forget(runtime, MINH)

    assert removed["user_anonymised"] == 1
    with runtime.session() as s:
        minh = s.exec(select(User).where(User.name.startswith("(đã xoá"))).one()
        answered = s.exec(select(Escalation).where(Escalation.status == "answered")).one()
        waiting = s.exec(select(Escalation).where(Escalation.question.contains("xây dựng"))).one()
    assert minh.zalo_id is None and minh.password_hash is None and not minh.on_duty
    assert answered.answered_by == minh.id and answered.answered_by_name == minh.name
    assert waiting.status == "open" and waiting.claimed_by is None
    assert "minh-z" not in everything(runtime)


def test_forgetting_a_team_member_leaves_the_answer_relayed_to_the_villager(village, runtime):
    forget(runtime, MINH)

    assert any("bộ phận một cửa" in o["text"] for o in exported(runtime, HA)["outbox"])


def test_the_cli_exports_a_person_as_json(village, troly):
    code, out, _ = troly("export-user", "zalo", HA)

    doc = json.loads(out)
    assert code == 0 and doc["platform"] == "zalo" and doc["id"] == HA and len(doc["inbox"]) == 4


def test_the_cli_forgets_a_person_and_says_what_it_removed(village, troly):
    code, out, _ = troly("forget-user", "zalo", HA)
    assert code == 0 and "Đã xoá dữ liệu của zalo:villager-ha" in out and "inbox_anonymised: 4" in out

    code, out, _ = troly("forget-user", "zalo", HA)
    assert code == 0 and "không có gì để xoá" in out
    code, _, err = troly("export-user", "zalo", HA)
    assert code == 1 and "Không có dữ liệu nào về zalo:villager-ha" in err


def test_the_cli_says_so_when_nobody_has_that_id(troly):
    code, out, err = troly("export-user", "facebook", "nobody")
    assert code == 1 and out == "" and "Không có dữ liệu nào" in err
