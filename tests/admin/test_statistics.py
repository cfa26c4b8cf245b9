"""Statistics on a small hand-made history: every figure, by local day and by village, is exact."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from admin.statistics import UNASSIGNED, cluster, compute, local_days, window_start
from bot import people
from bot.tables import Escalation, InboxMessage
from knowledge import store
from knowledge.models import FaqEntry

TZ = "Asia/Ho_Chi_Minh"
SINCE = datetime(2025, 2, 28, 17, tzinfo=timezone.utc)  # 2025-03-01 00:00 in Vietnam
UNTIL = datetime(2025, 3, 2, 17, tzinfo=timezone.utc)  # 2025-03-03 00:00 in Vietnam
PERMIT = "xin giấy phép xây dựng nhà ở nông thôn cần những gì ạ"
PERMIT_FOLDED = "giay phep xay dung nha o can giay to gi"
PERMIT_SHORT = "xin giấy phép xây dựng nhà ở nông thôn cần gì"
MARRIAGE = "đăng ký kết hôn cần giấy tờ gì"
MARRIAGE_FOLDED = "dang ky ket hon o dau a"
LICENCE = "cách đổi bằng lái xe máy"
numbers = count(1)


def utc(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=timezone.utc)


def message(s: Session, at: datetime, chat: str, decision: str | None, faq_id: str | None = None,
            event: str = "message") -> None:
    s.add(InboxMessage(platform="zalo", message_id=f"m{next(numbers)}", chat_id=chat, chat_kind="group",
                       sender_id="villager", event=event, text="?", status="done", decision=decision,
                       faq_id=faq_id, received_at=at))


def escalation(s: Session, team_id: int | None, question: str, created: datetime,
               answered: datetime | None = None) -> int:
    esc = Escalation(platform="zalo", chat_id="g", chat_kind="group", asker_id="villager",
                     message_id=f"e{next(numbers)}", question=question, team_id=team_id, created_at=created,
                     status="answered" if answered else "open", answered_at=answered,
                     answer="Dạ …" if answered else None)
    s.add(esc)
    s.flush()
    return esc.id


@pytest.fixture
def history(session) -> dict[str, int]:
    """Two villages and an unlinked chat over two local days (2025-03-01 and 03-02), with traps at the edges."""
    east = people.add_team(session, "Thôn Đông").id
    west = people.add_team(session, "Thôn Tây").id
    people.link_chat(session, "zalo", "g-dong", "Thôn Đông")
    people.link_chat(session, "zalo", "g-tay", "Thôn Tây")
    # Day 1 in Thôn Đông: 5 questions (a command and a follow event do not count).
    message(session, utc(28, 17, month=2), "g-dong", "answer", "vneid-quen-mat-khau")  # local midnight: day 1
    message(session, utc(1, 1), "g-dong", "answer", "vneid-quen-mat-khau")
    message(session, utc(1, 2), "g-dong", "escalate")
    message(session, utc(1, 3), "g-dong", "suggest", "dvc-dat-dai")
    message(session, utc(1, 4), "g-dong", "command")
    message(session, utc(1, 4, 30), "g-dong", None, event="follow")
    message(session, utc(1, 16, 59, 59), "g-dong", "ignore")  # 23:59:59 local: still day 1
    # Day 2: one in Thôn Đông, five in Thôn Tây, two in a chat no team is linked to.
    message(session, utc(1, 17), "g-dong", "answer", "dvc-dat-dai")
    message(session, utc(2, 2), "g-tay", "answer", "vneid-quen-mat-khau")
    message(session, utc(2, 3), "g-tay", "smalltalk")
    message(session, utc(2, 4), "g-tay", "ignore")
    message(session, utc(2, 5), "g-tay", "held")
    message(session, utc(2, 6), "g-tay", None)
    message(session, utc(2, 7), "u-lost", "escalate")
    message(session, utc(2, 8), "u-lost", "media")
    # Outside the window on both sides.
    message(session, utc(28, 16, 59, month=2), "g-dong", "answer", "vneid-quen-mat-khau")
    message(session, UNTIL, "g-dong", "answer", "vneid-quen-mat-khau")
    ids = {
        "permit": escalation(session, east, PERMIT, utc(1, 2), utc(1, 2, 10)),  # 10 minutes, day 1
        "permit_folded": escalation(session, east, PERMIT_FOLDED, utc(1, 3), utc(1, 3, 30)),  # 30 minutes, day 1
        "marriage": escalation(session, west, MARRIAGE, utc(1, 10), utc(1, 18)),  # 480 minutes, 01:00 local day 2
        "old": escalation(session, east, "tiền điện tháng này sao cao thế", utc(28, 10, month=2), utc(1, 5)),  # 1140
        "marriage_folded": escalation(session, east, MARRIAGE_FOLDED, utc(2, 1), utc(2, 18)),  # answered too late
        "permit_short": escalation(session, west, PERMIT_SHORT, utc(2, 5)),
        "licence": escalation(session, None, LICENCE, utc(2, 6)),
        "east": east, "west": west,
    }
    session.commit()
    return ids


def figures(questions=0, bot=0, suggested=0, escalated=0, ignored=0, other=0, people=0, median=None) -> dict:
    return {"questions": questions, "answered_by_bot": bot, "suggested": suggested, "escalated": escalated,
            "ignored": ignored, "other": other, "answered_by_people": people, "median_minutes_to_human": median}


def test_figures_by_local_day_and_village_are_exact(session, history):
    stats = compute(session, SINCE, UNTIL, None, TZ)
    assert stats["team"] is None and stats["timezone"] == TZ
    assert stats["days"] == [
        {"date": "2025-03-01", **figures(5, bot=2, suggested=1, escalated=1, ignored=1, people=3, median=30.0)},
        {"date": "2025-03-02", **figures(8, bot=3, escalated=1, ignored=1, other=3, people=1, median=480.0)},
    ]
    assert stats["totals"] == figures(13, bot=5, suggested=1, escalated=2, ignored=2, other=3, people=4, median=255.0)
    assert stats["villages"] == [
        {"team": "Thôn Đông", "team_id": history["east"], **figures(6, bot=3, suggested=1, escalated=1, ignored=1,
                                                                   people=3, median=30.0)},
        {"team": "Thôn Tây", "team_id": history["west"], **figures(5, bot=2, ignored=1, other=2, people=1,
                                                                  median=480.0)},
        {"team": UNASSIGNED, "team_id": None, **figures(2, escalated=1, other=1)},
    ]


def test_top_questions_count_answers_only_with_the_entry_question(session, history):
    top = compute(session, SINCE, UNTIL, None, TZ)["top_questions"]
    question = {i: session.get(FaqEntry, i).question for i in ("vneid-quen-mat-khau", "dvc-dat-dai")}
    assert top == [{"faq_id": "vneid-quen-mat-khau", "question": question["vneid-quen-mat-khau"], "count": 3},
                   {"faq_id": "dvc-dat-dai", "question": question["dvc-dat-dai"], "count": 1}]


def test_escalated_questions_of_the_window_are_grouped_by_the_matcher(session, history):
    groups = compute(session, SINCE, UNTIL, None, TZ)["unanswered"]
    h = history
    assert groups == [
        {"question": PERMIT, "count": 3, "escalation_ids": [h["permit"], h["permit_folded"], h["permit_short"]]},
        {"question": MARRIAGE, "count": 2, "escalation_ids": [h["marriage"], h["marriage_folded"]]},
        {"question": LICENCE, "count": 1, "escalation_ids": [h["licence"]]},
    ]


def test_one_team_sees_only_its_own_chats_and_escalations(session, history):
    stats = compute(session, SINCE, UNTIL, history["east"], TZ)
    assert stats["team"] == "Thôn Đông"
    assert [v["team"] for v in stats["villages"]] == ["Thôn Đông"]
    assert [d["questions"] for d in stats["days"]] == [5, 1]
    assert stats["totals"] == figures(6, bot=3, suggested=1, escalated=1, ignored=1, people=3, median=30.0)
    top = [(q["faq_id"], q["count"]) for q in stats["top_questions"]]
    assert top == [("vneid-quen-mat-khau", 2), ("dvc-dat-dai", 1)]
    assert [g["escalation_ids"] for g in stats["unanswered"]] == [[history["permit"], history["permit_folded"]],
                                                                 [history["marriage_folded"]]]


def test_with_a_single_team_every_chat_is_that_teams(session):
    team = people.add_team(session, "Thôn Một").id
    message(session, utc(1, 1), "never-linked", "answer", "vneid-quen-mat-khau")
    session.commit()
    villages = compute(session, SINCE, UNTIL, None, TZ)["villages"]
    assert villages == [{"team": "Thôn Một", "team_id": team, **figures(1, bot=1)}]


def test_an_empty_window_has_zero_figures_for_every_day(session):
    stats = compute(session, SINCE, UNTIL, None, TZ)
    assert [d["date"] for d in stats["days"]] == ["2025-03-01", "2025-03-02"]
    assert stats["totals"] == figures() and stats["top_questions"] == [] and stats["unanswered"] == []


def test_the_window_covers_whole_local_days_up_to_now():
    now = datetime(2025, 3, 2, 20, tzinfo=timezone.utc)  # 03:00 on 3 March in Vietnam
    assert window_start(now, 2, ZoneInfo(TZ)) == datetime(2025, 3, 1, 17, tzinfo=timezone.utc)


def test_days_follow_daylight_saving_time_where_there_is_one():
    paris = ZoneInfo("Europe/Paris")
    since = datetime(2025, 3, 29, tzinfo=paris).astimezone(timezone.utc)
    dates, starts = local_days(since, datetime(2025, 3, 31, tzinfo=paris), paris)
    assert [d.isoformat() for d in dates] == ["2025-03-29", "2025-03-30"]
    assert starts[1] == datetime(2025, 3, 29, 23, tzinfo=timezone.utc)  # +01:00 before the change


def test_clustering_reads_synonyms_and_keeps_unrelated_and_wordless_questions_apart(session):
    questions = [(1, "tiền điện tháng này sao cao thế"), (2, "👍👍"), (3, LICENCE), (4, "đổi giấy phép lái xe ở đâu")]
    groups = cluster(questions, store.lexicon(session))  # the dictionary knows "bằng lái" is "giấy phép lái xe"
    assert [g["escalation_ids"] for g in groups] == [[3, 4], [1], [2]]
