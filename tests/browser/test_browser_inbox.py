"""The escalation inbox in a real browser: a group question answered from the page reaches the group."""

from __future__ import annotations

import httpx
from sqlmodel import select

import deliveries as d
from bot.tables import Escalation

HOUSE = "xin giấy phép xây dựng nhà ở nông thôn cần những gì ạ"
ANSWER = "Dạ bác mang sổ đỏ và bản vẽ ra bộ phận một cửa của xã ạ"
PAYLOAD = "<script>alert(1)</script> <img src=x onerror=alert(2)>"
PHONE = {"width": 360, "height": 740}


def escalate(server, fake, text: str, asker: str = "u-asker") -> int:
    """A signed Zalo group message the bot hands to the team; waits for the asker's and the team's messages."""
    seen = len(fake.delivered)
    body, headers = d.zalo(text, sender=asker, group="g-dong")
    assert httpx.post(server.state.base_url + "/webhooks/zalo", content=body, headers=headers).status_code == 200
    assert fake.wait_for(seen + 3, timeout=10), fake.texts()  # the asker in the group, Chị Lan and Anh Minh
    with server.state.runtime.session() as s:
        return s.exec(select(Escalation).order_by(Escalation.id.desc())).first().id


def test_a_member_answers_a_group_question_from_the_inbox(server, fake, page, log_in):
    number = escalate(server, fake, HOUSE)
    log_in("Anh Minh")
    page.goto("/admin/inbox")
    page.click(f"#esc-{number} >> text=Mở để trả lời")
    page.fill("textarea[name=text]", ANSWER)
    page.click("text=Gửi câu trả lời")
    page.wait_for_url(f"**/admin/inbox/{number}?done=answered")
    assert "Đã gửi câu trả lời tới người hỏi" in page.locator("[role=status]").inner_text()

    assert fake.wait_for(4, timeout=10), fake.texts()
    relay = fake.delivered[-1]
    assert relay.recipient == "g-dong" and relay.text.startswith("[@u-asker] ")
    assert ANSWER in relay.text and f"#{number}" in relay.text and "Anh Minh" in relay.text
    page.reload()
    assert "Câu trả lời đã tới người hỏi" in page.inner_text("main")


def test_a_member_of_another_team_is_refused_the_questions_page(server, fake, page, log_in):
    number = escalate(server, fake, HOUSE)
    log_in("Anh Tú")
    response = page.goto(f"/admin/inbox/{number}")
    assert response.status == 403
    assert "thuộc tổ khác" in page.inner_text("main") and "giấy phép" not in page.content()
    page.goto("/admin/inbox")
    assert f"#{number}" not in page.inner_text("main")


def test_markup_in_a_question_is_displayed_as_text(server, fake, page, log_in):
    number = escalate(server, fake, f"Trợ lý số ơi {PAYLOAD} nuôi ong cần giấy tờ gì ạ")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in("Anh Minh")
    for path in ("/admin/inbox", f"/admin/inbox/{number}"):
        page.goto(path)
        question = page.locator(f"#esc-{number} .esc-question").inner_text()
        assert PAYLOAD in question
        assert page.locator("main script, main img").count() == 0
    assert dialogs == []


def test_the_inbox_fits_a_phone_screen(server, fake, page, log_in, tmp_path):
    number = escalate(server, fake, f"Trợ lý số ơi {HOUSE} " + "rấtdàikhôngcódấucách" * 8)  # one long word
    page.set_viewport_size(PHONE)
    log_in("Anh Minh")
    page.goto("/admin/inbox")
    page.screenshot(path=str(tmp_path / "inbox-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto(f"/admin/inbox/{number}")
    page.select_option("select[name=faq_id]", "dvc-dat-dai")  # inbox.js previews what would be sent
    page.wait_for_function("document.querySelector('#entry-preview').textContent.startsWith('Bot sẽ gửi')")
    page.screenshot(path=str(tmp_path / "inbox-detail-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_statistics_and_suggestions_fit_a_phone_screen_without_breaking_the_csp(server, fake, page, log_in, tmp_path):
    number = escalate(server, fake, HOUSE)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.set_viewport_size(PHONE)
    log_in("admin")
    page.goto(f"/admin/inbox/{number}")
    page.fill("textarea[name=text]", ANSWER)
    page.click("text=Gửi câu trả lời")
    page.wait_for_url("**?done=answered")
    for name, path in (("stats", "/admin/stats?days=30"), ("suggestions", "/admin/suggestions")):
        page.goto(path)
        page.screenshot(path=str(tmp_path / f"{name}-360.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    page.goto("/admin/stats")
    assert page.locator("svg.chart rect").count() >= 1
    assert violations == []
