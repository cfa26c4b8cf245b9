"""The public web chat in Chromium: answers, group mode, a member's later answer, untrusted text, phones, embedding."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlmodel import select

import deliveries as d
from admin.webchat import COOKIE, Browser
from bot import outbox
from bot.messages import ChatKind, OutgoingMessage
from bot.tables import InboxMessage
from knowledge.models import utcnow

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser tests skipped")
expect = sync_api.expect

UNANSWERABLE = "xin giấy phép xây dựng nhà ở nông thôn cần những gì ạ"
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def chat(page):
    """The chat page, with every dialog and Content-Security-Policy complaint recorded."""
    page.dialogs, page.csp_errors = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text))
    page.goto("/")
    return page


def ask(page, text: str) -> None:
    page.fill("#text", text)
    page.click("button[type=submit]")


def bot_says(page, pattern: str, where: str = "#messages-private"):
    message = page.locator(f"{where} .msg.bot", has_text=re.compile(pattern)).last
    expect(message).to_be_visible(timeout=10_000)
    return message


def browser_of(page) -> Browser:
    [secret] = [c["value"] for c in page.context.cookies() if c["name"] == COOKIE]
    return Browser.of(secret)


def test_a_question_typed_on_the_page_is_answered_with_its_lines(chat):
    ask(chat, "quen mat khau vneid")
    expect(chat.locator("#messages-private .msg.me")).to_have_text(re.compile("quen mat khau vneid"))
    answer = bot_says(chat, "VNeID")
    assert "\n1. " in answer.locator(".text").inner_text()  # the answer's lines are kept
    assert chat.csp_errors == []


def test_an_example_question_is_asked_by_a_click(chat):
    chat.click("button.example >> nth=0")
    bot_says(chat, "VNeID")
    expect(chat.locator("#messages-private .msg.me")).to_have_count(1)


def test_the_conversation_survives_a_reload(chat):
    ask(chat, "quen mat khau vneid")
    bot_says(chat, "VNeID")
    chat.reload()
    bot_says(chat, "VNeID")
    chat.wait_for_timeout(1500)  # a few polls: nothing is shown twice
    expect(chat.locator(".msg")).to_have_count(2)


def test_untrusted_text_from_the_villager_and_the_bot_is_shown_as_text(chat, server):
    ask(chat, XSS)
    expect(chat.locator("#messages-private .msg.me .text")).to_have_text(XSS)
    with server.state.runtime.session() as s:
        html = '<b id="injected">đậm</b><img src=x onerror="alert(3)">'
        outbox.enqueue(s, OutgoingMessage("web", browser_of(chat).sender_id, ChatKind.PRIVATE, html), utcnow())
        s.commit()
    expect(chat.locator("#messages-private .msg.bot .text", has_text="<b id=")).to_have_text(html, timeout=10_000)
    chat.wait_for_timeout(300)
    assert chat.dialogs == []
    assert chat.locator("#injected, .messages img, .messages script").count() == 0


def test_an_escalated_question_answered_later_by_a_member_appears_in_the_page(chat, server):
    ask(chat, UNANSWERABLE)
    told = bot_says(chat, r"#\d+").inner_text()
    number = re.search(r"#(\d+)", told).group(1)
    body, headers = d.zalo(f"#{number} Dạ bác mang sổ đỏ và bản vẽ lên bộ phận một cửa của xã ạ", sender="minh-z")
    assert httpx.post(f"{server.state.base_url}/webhooks/zalo", content=body, headers=headers).status_code == 200
    relay = bot_says(chat, "bản vẽ")
    expect(relay).to_contain_text("Anh Minh")
    expect(relay).to_contain_text(f"#{number}")


def test_group_mode_stays_quiet_on_chatter_and_answers_questions_by_name(chat, server):
    chat.check("#group-mode")
    expect(chat.locator("#group-note")).to_be_visible()
    ask(chat, "cảm ơn cả nhà")
    ask(chat, "quên mật khẩu vneid thì làm thế nào")
    answer = bot_says(chat, "VNeID", where="#messages-group")
    expect(answer.locator(".mention")).to_have_text("@Bạn")
    expect(chat.locator("#messages-group .msg.bot")).to_have_count(1)
    with server.state.runtime.session() as s:
        rows = s.exec(select(InboxMessage).order_by(InboxMessage.id)).all()
        assert [r.decision for r in rows] == ["ignore", "answer"]
    chat.uncheck("#group-mode")
    expect(chat.locator("#messages-group")).to_be_hidden()
    expect(chat.locator("#messages-private .msg")).to_have_count(0)


def test_the_chat_fits_a_phone_screen(chat, tmp_path):
    chat.set_viewport_size({"width": 360, "height": 740})
    ask(chat, "chuyển khoản nhầm thì phải làm gì")
    bot_says(chat, "nhầm")
    chat.screenshot(path=str(tmp_path / "webchat-360.png"), full_page=True)
    assert chat.evaluate("document.documentElement.scrollWidth") <= 360
    chat.check("#group-mode")
    chat.screenshot(path=str(tmp_path / "webchat-group-360.png"), full_page=True)
    assert chat.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.fixture
def commune_site(server):
    """A commune's website on another site (localhost, not 127.0.0.1) that pastes the embed script."""
    html = (f'<!doctype html><meta charset="utf-8"><title>Xã An Phú</title><h1>Xã An Phú</h1>'
            f'<script src="{server.state.base_url}/embed.js" async></script>').encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args) -> None:
            pass

    # A real loopback server: Chromium refuses a page it cannot place to reach the loopback chat server.
    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://localhost:{site.server_address[1]}/"
    site.shutdown()
    site.server_close()


def test_a_commune_website_embeds_the_chat_with_one_script(page, commune_site):
    page.goto(commune_site)
    page.click("text=Hỏi Trợ lý số")
    frame = page.frame_locator("iframe[title='Trợ lý số']")
    frame.locator("#text").fill("quen mat khau vneid")
    frame.locator("button[type=submit]").click()
    expect(frame.locator("#messages-private .msg.bot")).to_contain_text("VNeID", timeout=10_000)
    page.click("text=Đóng")
    expect(page.locator("iframe[title='Trợ lý số']")).to_be_hidden()
