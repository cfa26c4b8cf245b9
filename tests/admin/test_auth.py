"""Login, sessions, CSRF, tokens, roles and the security headers of the admin side."""

from __future__ import annotations

from fastapi.testclient import TestClient

from admin.auth import LOGIN_MAX_FAILURES
from bot import people


def test_the_admin_home_asks_anonymous_visitors_to_log_in(anonymous):
    response = anonymous.get("/admin", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"


def test_a_wrong_password_is_refused_with_a_message(anonymous):
    response = anonymous.post("/admin/login", data={"username": "admin", "password": "sai"})
    assert response.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in response.text


def test_login_sets_an_httponly_samesite_cookie_and_shows_the_home(anonymous):
    response = anonymous.post("/admin/login", data={"username": "admin", "password": "admin-pass-1"},
                              follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "Chào admin" in anonymous.get("/admin").text


def test_repeated_failures_are_rate_limited_even_with_the_right_password(anonymous):
    for _ in range(LOGIN_MAX_FAILURES):
        anonymous.post("/admin/login", data={"username": "admin", "password": "sai"})
    response = anonymous.post("/admin/login", data={"username": "admin", "password": "admin-pass-1"})
    assert response.status_code == 429


def test_logout_needs_the_csrf_token_and_ends_the_session(as_admin):
    assert as_admin.post("/admin/logout", data={"csrf": "wrong"}).status_code == 403
    csrf = as_admin.headers["X-CSRF-Token"]
    as_admin.post("/admin/logout", data={"csrf": csrf})
    assert as_admin.get("/admin", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(anonymous):
    headers = anonymous.get("/admin/login").headers
    assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_a_login_link_never_sends_people_to_another_site(anonymous):
    response = anonymous.post("/admin/login", data={"username": "admin", "password": "admin-pass-1",
                                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/admin"


def test_an_api_token_is_stored_only_as_a_digest(web_app):
    with web_app.state.runtime.session() as s:
        token = people.create_token(s, "script", "admin")
        s.commit()
        from sqlmodel import select

        from bot.tables import ApiToken

        stored = s.exec(select(ApiToken)).one()
    assert token.startswith("troly_") and token not in stored.token_hash and stored.token_hash == people.digest(token)


def test_troly_token_create_prints_the_token_as_its_last_line(web_app, database_url, monkeypatch, capsys, tmp_path):
    import main

    monkeypatch.setenv("TROLY_DATABASE_URL", database_url)
    monkeypatch.setenv("TROLY_SEED_ADMIN", "false")
    monkeypatch.chdir(tmp_path)
    assert main.cli(["token", "create", "bao-cao", "--role", "leader", "--team", "Thôn Đông"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    with TestClient(web_app) as client:
        assert client.get("/admin", headers={"Authorization": f"Bearer {token}"}).status_code == 200
