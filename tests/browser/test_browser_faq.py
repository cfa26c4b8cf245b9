"""The FAQ editor, import and test console in a real browser, on a desktop and on a 360-pixel phone screen."""

from __future__ import annotations

import csv
import io

import pytest

ENTRY = "vneid-quen-mat-khau"


@pytest.fixture
def problems(page) -> list[str]:
    """Script errors and Content-Security-Policy refusals seen by the page."""
    seen: list[str] = []
    page.on("pageerror", lambda error: seen.append(str(error)))
    page.on("console", lambda message: seen.append(f"{message.text} {message.location.get('url')}")
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("dialog", lambda dialog: (seen.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return seen


def test_an_edited_answer_is_what_the_test_console_replies(page, log_in, problems):
    log_in("admin")
    page.goto("/admin/faq")
    page.fill("input[name=q]", "quen mat khau vneid")
    page.click("button:text('Lọc')")
    page.click(f"a[href='/admin/faq/{ENTRY}']")
    answer = "Dạ, bác mở app VNeID, bấm “Quên mật khẩu” rồi nhập mã OTP gửi về điện thoại ạ."
    page.fill("textarea[name=answer]", answer)
    assert page.locator("#answer-count").inner_text() == f"{len(answer)} / 2000 ký tự"
    page.click("button:text('Lưu')")
    assert "Đã lưu" in page.locator("[role=status]").inner_text()

    page.click("nav >> text=Thử bot")
    page.fill("textarea[name=text]", "quen mk vneid")
    page.check("input[value=group]")
    page.click("button:text('Thử')")
    assert page.locator(".reply").inner_text() == answer
    assert "Trong nhóm sẽ gọi tên người hỏi" in page.locator(".console-result").inner_text()
    assert page.locator(".candidates li").count() <= 5
    assert problems == []


def test_a_too_long_answer_turns_the_count_red_and_is_refused(page, log_in):
    log_in("admin")
    page.goto(f"/admin/faq/{ENTRY}")
    page.fill("textarea[name=answer]", "a" * 2001)
    assert "error" in page.locator("#answer-count").get_attribute("class")
    page.click("button:text('Lưu')")
    assert "quá giới hạn 2000 ký tự" in page.locator("main").inner_text()
    assert page.input_value("textarea[name=answer]") == "a" * 2001


def test_a_csv_import_shows_a_preview_then_applies(page, log_in, tmp_path, problems):
    log_in("admin")
    exported = page.request.get("/admin/faq/export/csv").body().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    rows[0]["answer"] = "Dạ, câu trả lời đã sửa trong Excel ạ."
    rows.append({**rows[1], "id": "xe-may-online", "question": "Đăng ký xe máy online?", "alternates": ""})
    path = tmp_path / "hoi-dap.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    page.goto("/admin/faq")
    page.click("text=Nhập / xuất tệp")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:text('Xem trước')")
    preview = page.locator(".preview").inner_text()
    assert "1 mục mới" in preview and "1 mục thay đổi" in preview and "xe-may-online" in preview
    page.click("button:text('Áp dụng')")
    assert "1 mục mới, 1 mục sửa" in page.locator("[role=status]").inner_text()
    page.goto("/admin/faq?q=xe+may+online")
    assert page.locator(".faq-list a[href='/admin/faq/xe-may-online']").count() == 1
    assert problems == []


def test_an_xss_payload_in_a_question_is_shown_as_text(page, log_in, problems):
    log_in("admin")
    page.goto("/admin/faq/new")
    page.fill("input[name=question]", "<script>alert(1)</script><img src=x onerror=alert(2)>")
    page.fill("textarea[name=answer]", "Dạ <b>không</b> in đậm ạ.")
    page.click("button:text('Lưu')")
    page.goto("/admin/faq")
    assert page.locator(".faq-list").get_by_text("<script>alert(1)</script><img src=x onerror=alert(2)>").count() == 1
    assert problems == []


def fits(page, shot) -> bool:
    page.screenshot(path=str(shot), full_page=True)
    return page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("path", ["/admin/faq", f"/admin/faq/{ENTRY}", "/admin/faq/import", "/admin/lexicon"])
def test_the_faq_pages_fit_a_phone_screen(page, log_in, tmp_path, problems, path):
    page.set_viewport_size({"width": 360, "height": 740})
    log_in("admin")
    page.goto(path)
    assert fits(page, tmp_path / f"{path.strip('/').replace('/', '-')}-360.png")
    assert problems == []


def test_a_history_diff_and_a_console_answer_fit_a_phone_screen(page, log_in, tmp_path, problems):
    page.set_viewport_size({"width": 360, "height": 740})
    log_in("admin")
    page.goto(f"/admin/faq/{ENTRY}")
    page.fill("textarea[name=answer]", page.input_value("textarea[name=answer]").replace("bấm", "chạm vào"))
    page.click("button:text('Lưu')")
    page.click("text=Lịch sử sửa đổi")
    assert page.locator(".history ins").count() > 0
    assert fits(page, tmp_path / "history-360.png")
    page.goto("/admin/console")
    page.fill("textarea[name=text]", "làm sao đăng ký tài khoản định danh điện tử mức 2 cho người già")
    page.click("button:text('Thử')")
    assert fits(page, tmp_path / "console-360.png")
    assert problems == []
