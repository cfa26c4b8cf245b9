"""Logging in and out from a real browser, on a desktop and on a 360-pixel phone screen."""

from __future__ import annotations


def test_log_in_and_out(page, log_in):
    log_in("Chị Lan")
    assert page.locator("h1").inner_text() == "Chào Chị Lan"
    page.click("text=Đăng xuất")
    page.wait_for_url("**/admin/login")


def test_a_wrong_password_shows_a_message(page):
    page.goto("/admin/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "sai")
    page.click("button[type=submit]")
    assert "Sai tên đăng nhập" in page.locator("[role=alert]").inner_text()


def test_the_home_fits_a_phone_screen(page, log_in, tmp_path):
    page.set_viewport_size({"width": 360, "height": 740})
    log_in("admin")
    page.screenshot(path=str(tmp_path / "home-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_leader_puts_a_member_off_duty_on_a_phone(page, log_in, tmp_path):
    page.set_viewport_size({"width": 360, "height": 740})
    log_in("Chị Lan")
    page.goto("/admin/team")
    row = page.locator("tr", has_text="Anh Minh")
    row.locator("button", has_text="cho nghỉ").click()
    page.wait_for_url("**msg=duty")
    assert page.locator("tr", has_text="Anh Minh").locator(".badge").inner_text() == "nghỉ"
    page.screenshot(path=str(tmp_path / "team-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
