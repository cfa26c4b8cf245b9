"""Operators create teams, users and chat links from the command line; mistakes get clear messages."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.db import make_engine
from bot.people import check_password
from bot.tables import ChatLink, Team, User


@pytest.fixture
def troly(troly, monkeypatch):
    """The first admin is created here, with a known password."""
    monkeypatch.setenv("TROLY_SEED_ADMIN", "true")
    monkeypatch.setenv("TROLY_ADMIN_PASSWORD", "mat-khau-dau-tien")
    return troly


def rows(database_url, table) -> list:
    engine = make_engine(database_url)
    with Session(engine) as s:
        found = list(s.exec(select(table)).all())
    engine.dispose()
    return found


def test_the_first_command_creates_the_admin_with_the_configured_password(troly, database_url):
    troly("escalations")
    [admin] = rows(database_url, User)
    assert admin.name == "admin" and admin.role == "admin" and check_password(admin, "mat-khau-dau-tien")


def test_without_a_configured_password_one_is_generated_and_printed_once(troly, database_url, monkeypatch):
    monkeypatch.delenv("TROLY_ADMIN_PASSWORD")
    _, _, err = troly("escalations")
    password = err.split("mật khẩu: ")[1].split()[0]
    assert check_password(rows(database_url, User)[0], password)
    _, _, again = troly("escalations")
    assert "mật khẩu" not in again


def test_teams_users_and_links_are_created(troly, database_url):
    assert troly("team", "add", "Thôn Đông", "--commune", "xã An Phú")[0] == 0
    assert troly("user", "add", "Chị Lan", "--role", "leader", "--team", "Thôn Đông", "--zalo-id", "z1",
                 "--password", "pw-lan-123")[0] == 0
    code, out, _ = troly("group", "link", "--platform", "zalo", "--chat-id", "g1", "--team", "Thôn Đông")
    assert code == 0 and "g1" in out
    [team] = rows(database_url, Team)
    lan = next(u for u in rows(database_url, User) if u.name == "Chị Lan")
    [link] = rows(database_url, ChatLink)
    assert team.commune == "xã An Phú" and lan.team_id == team.id and lan.zalo_id == "z1"
    assert check_password(lan, "pw-lan-123") and link.team_id == team.id and not link.staff


@pytest.mark.parametrize("args, message", [
    (("user", "add", "Anh Minh", "--role", "member"), "cần --team"),
    (("user", "add", "Anh Minh", "--role", "member", "--team", "Không Có"), "Không có tổ"),
    (("group", "link", "--platform", "zalo", "--chat-id", "g1", "--team", "Không Có"), "Không có tổ"),
])
def test_mistakes_are_explained_and_change_nothing(troly, database_url, args, message):
    code, _, err = troly(*args)
    assert code == 2 and message in err
    assert rows(database_url, ChatLink) == [] and [u.name for u in rows(database_url, User)] == ["admin"]


def test_a_team_cannot_be_added_twice(troly):
    troly("team", "add", "Thôn Đông")
    code, _, err = troly("team", "add", "Thôn Đông")
    assert code == 2 and "đã có" in err
