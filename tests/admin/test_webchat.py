"""The public web chat end to end: page, cookie identity, inbox → worker → outbox, hand-off relays, limits."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

import deliveries as d
from admin.webchat import COOKIE, EXAMPLES, PER_MINUTE
from bot import handoff, outbox, people
from bot.settings import Settings
from bot.tables import Escalation, InboxMessage, OutboxMessage
from knowledge.models import utcnow
from main import create_app

UNANSWERABLE = "xin giấy phép xây dựng nhà ở nông thôn cần những gì ạ"


@pytest.fixture
def app(live_settings):
    application = create_app(live_settings)
    with application.state.runtime.session() as s:
        people.add_team(s, "Thôn Đông", "xã An Phú")
        people.add_user(s, "Anh Minh", "member", "Thôn Đông", zalo_id="minh-z")
        s.commit()
    yield application
    application.state.runtime.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as c:  # one client runs the app's lifespan, so one worker
        yield c


class Browser:
    """One visitor of the page: its own identity cookie, swapped into the shared client for each request."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        client.cookies.clear()
        page = client.get("/")
        assert page.status_code == 200
        self.secret = page.cookies[COOKIE]
        self.after = 0

    def _use(self) -> TestClient:
        self.client.cookies.clear()
        self.client.cookies.set(COOKIE, self.secret)
        return self.client

    def say(self, text: str, group: bool = False, **headers: str):
        return self._use().post("/webchat/messages", json={"text": text, "group": group}, headers=headers)

    def read(self) -> list[dict]:
        response = self._use().get(f"/webchat/messages?after={self.after}")
        assert response.status_code == 200
        rows = response.json()
        if rows:
            self.after = rows[-1]["id"]
        return rows

    def replies(self, n: int, timeout: float = 10.0) -> list[dict]:
        """Wait for exactly n new bot messages."""
        got: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            got += self.read()
            time.sleep(0.03)
        time.sleep(0.2)  # anything extra would arrive now
        got += self.read()
        assert len(got) == n, [r["text"][:80] for r in got]
        return got


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


def accepted(response) -> str:
    assert response.status_code == 202, response.text
    return response.json()["id"]


def inbox_rows(app) -> list[InboxMessage]:
    with app.state.runtime.session() as s:
        return list(s.exec(select(InboxMessage).order_by(InboxMessage.id)).all())


def escalation_number(text: str) -> int:
    return int(re.search(r"#(\d+)", text).group(1))


def test_the_page_welcomes_in_vietnamese_and_gives_an_httponly_identity_cookie(client):
    page = client.get("/")
    assert page.status_code == 200 and "Chế độ nhóm" in page.text and "VNeID" in page.text
    assert all(question in page.text for question in EXAMPLES)
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and "style=" not in page.text  # the CSP allows neither
    again = client.get("/")
    assert "set-cookie" not in again.headers  # the same browser keeps its identity


def test_the_embedded_page_may_be_framed_and_its_cookie_is_partitioned(client):
    page = client.get("/?embed=1")
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert all(part in page.headers["set-cookie"] for part in ("SameSite=None", "Secure", "Partitioned", "HttpOnly"))
    assert 'class="webchat embed"' in page.text
    script = client.get("/embed.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "/?embed=1" in script.text


def test_the_cookie_is_secure_behind_https(client):
    assert "Secure" in client.get("/", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"]


def test_the_example_questions_are_answered_by_the_faq(app):
    kb = app.state.runtime.knowledge()
    assert [kb.ask(q).decision.kind for q in EXAMPLES] == ["answer"] * len(EXAMPLES)


def test_a_question_gets_its_faq_answer_from_the_outbox(browser, app):
    message_id = accepted(browser.say("quen mat khau vneid"))
    [reply] = browser.replies(1)
    assert "VNeID" in reply["text"] and "\n" in reply["text"]
    assert reply["group"] is False and reply["mention"] is False and reply["at"].endswith("+00:00")
    [row] = inbox_rows(app)
    assert row.message_id == message_id and row.platform == "web" and row.chat_kind == "private"
    assert row.decision == "answer" and row.faq_id == "vneid-quen-mat-khau"
    assert browser.secret not in row.chat_id  # the database only sees an id derived from the cookie


def test_group_mode_ignores_chatter_and_answers_a_question_addressing_the_asker(browser, app):
    for chatter in ("ok", "cảm ơn cả nhà"):
        accepted(browser.say(chatter, group=True))
    accepted(browser.say("quên mật khẩu vneid thì làm thế nào", group=True))
    [reply] = browser.replies(1)
    assert "VNeID" in reply["text"] and reply["group"] is True and reply["mention"] is True
    rows = inbox_rows(app)
    assert [r.decision for r in rows] == ["ignore", "ignore", "answer"]
    assert {r.chat_kind for r in rows} == {"group"} and rows[0].chat_id != rows[0].sender_id


def test_naming_the_bot_in_group_mode_counts_as_a_mention(browser, app):
    accepted(browser.say("trợ lý số ơi cho hỏi", group=True))
    browser.replies(1)
    [row] = inbox_rows(app)
    assert row.details["mentions_bot"] is True


def test_suggestions_then_a_number_pick_that_entry(browser, app):
    accepted(browser.say("dịch vụ công"))
    [offer] = browser.replies(1)
    assert "1." in offer["text"] and "2." in offer["text"]
    accepted(browser.say("2"))
    [answer] = browser.replies(1)
    kb = app.state.runtime.knowledge()
    second = kb.ask("dịch vụ công").decision.suggestions[1]
    assert answer["text"] == kb.answer_for(second)
    assert inbox_rows(app)[-1].faq_id == second


def test_a_members_zalo_answer_to_an_escalation_appears_in_that_browser_only(client, browser, app, fake):
    accepted(browser.say(UNANSWERABLE))
    [told] = browser.replies(1)
    number = escalation_number(told["text"])
    assert fake.wait_for(1, timeout=5)  # the team hears of a web question on Zalo
    assert fake.delivered[0].recipient == "minh-z" and f"#{number}" in fake.delivered[0].text
    body, headers = d.zalo(f"#{number} Dạ bác mang sổ đỏ và bản vẽ lên bộ phận một cửa của xã ạ", sender="minh-z")
    assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
    [relay] = browser.replies(1)
    assert f"#{number}" in relay["text"] and "bản vẽ" in relay["text"] and "Anh Minh" in relay["text"]
    assert fake.wait_for(2, timeout=5) and fake.delivered[-1].recipient == "minh-z"  # the member's confirmation

    stranger = Browser(client)
    assert stranger.read() == []
    accepted(stranger.say("quen mat khau vneid"))
    stranger.replies(1)
    assert browser.read() == []


def test_an_answer_from_the_handoff_is_relayed_into_the_group_and_addresses_the_asker(browser, app):
    accepted(browser.say(UNANSWERABLE, group=True))
    [told] = browser.replies(1)
    assert told["mention"] is True
    with app.state.runtime.session() as s:
        esc = s.get(Escalation, escalation_number(told["text"]))
        for out in handoff.answer(s, esc, "Dạ bác hỏi cán bộ địa chính xã ạ", utcnow(), by_name="Chị Lan"):
            outbox.enqueue(s, out, utcnow())
        s.commit()
    [relay] = browser.replies(1)
    assert "cán bộ địa chính" in relay["text"] and "Chị Lan" in relay["text"]
    assert relay["group"] is True and relay["mention"] is True


def test_failed_rows_and_other_platforms_rows_are_not_shown(browser, app):
    accepted(browser.say("quen mat khau vneid"))
    browser.replies(1)
    with app.state.runtime.session() as s:
        [row] = s.exec(select(OutboxMessage).where(OutboxMessage.platform == "web")).all()
        s.add(OutboxMessage(platform="zalo", chat_id=row.chat_id, chat_kind="private", text="khác nền tảng"))
        s.add(OutboxMessage(platform="web", chat_id=row.chat_id, chat_kind="private", text="hỏng", status="failed"))
        s.commit()
    assert browser.read() == []


def test_messages_are_rate_limited_per_browser(client, browser):
    for _ in range(PER_MINUTE):
        accepted(browser.say("ok", group=True))
    refused = browser.say("ok", group=True)
    assert refused.status_code == 429 and "đợi một phút" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "60"
    accepted(Browser(client).say("ok", group=True))


@pytest.mark.parametrize(("text", "words"), [("", "trống"), ("  \n\t ", "trống"), ("a" * 2001, "2.000 ký tự")])
def test_an_empty_or_too_long_message_is_refused_in_vietnamese(browser, app, text, words):
    refused = browser.say(text)
    assert refused.status_code == 422 and words in refused.json()["detail"]
    assert inbox_rows(app) == []


def test_a_message_of_exactly_the_limit_is_accepted_and_control_characters_dropped(browser, app):
    accepted(browser.say("a\x00" * 2000))
    [row] = inbox_rows(app)
    assert row.text == "a" * 2000


def test_a_lone_surrogate_is_dropped_like_a_control_character(browser, app):
    # JSON may escape half of a UTF-16 pair ("\ud800"); no database could store it, so it was a 500.
    body = b'{"text": "qu\\u00ean m\\ud800\\u1eadt kh\\u1ea9u"}'
    accepted(browser._use().post("/webchat/messages", content=body, headers={"Content-Type": "application/json"}))
    [row] = inbox_rows(app)
    assert row.text == "quên mật khẩu"


def test_a_cursor_past_postgresqls_integers_is_refused(browser):
    assert browser._use().get(f"/webchat/messages?after={2**31}").status_code == 422


def test_malformed_bodies_are_refused_not_crashed(browser):
    client = browser._use()
    for body in (b"{", b"[]", b'{"text": 5}', b'{"text": "x", "group": "yes"}'):
        response = client.post("/webchat/messages", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, body
    huge = client.post("/webchat/messages", content=b" " * 40_000, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    assert client.get("/webchat/messages?after=" + "9" * 30).status_code == 422  # past the database's integers


def test_cross_site_posts_and_forms_are_refused(browser, app):
    assert browser.say("hi", **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert browser.say("hi", **{"Sec-Fetch-Site": "same-site"}).status_code == 403
    assert browser.say("hi", Origin="https://evil.example").status_code == 403
    form = browser._use().post("/webchat/messages", data={"text": "hi"})
    assert form.status_code == 415
    assert inbox_rows(app) == []
    accepted(browser.say("hi", Origin="http://testserver", **{"Sec-Fetch-Site": "same-origin"}))


def test_without_the_cookie_nothing_is_posted_or_read(client, app):
    client.cookies.clear()
    assert client.post("/webchat/messages", json={"text": "hi"}).status_code == 403
    client.cookies.set(COOKIE, "not-a-secret")
    assert client.get("/webchat/messages").json() == []
    assert inbox_rows(app) == []


def test_the_request_only_records_the_message_the_worker_answers_it(database_url):
    app = create_app(Settings(database_url=database_url, _env_file=None, seed_admin=False, worker_in_serve=False))
    with TestClient(app) as client:
        accepted(Browser(client).say("quen mat khau vneid"))
    with app.state.runtime.session() as s:
        assert [r.status for r in s.exec(select(InboxMessage)).all()] == ["new"]
        assert s.exec(select(OutboxMessage)).all() == []
    app.state.runtime.engine.dispose()
