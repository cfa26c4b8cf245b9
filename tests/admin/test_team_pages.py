"""A leader manages their own team's members and duty; nobody else's."""

from __future__ import annotations

from sqlmodel import select

from bot.tables import User


def user(app, name: str) -> User:
    with app.state.runtime.session() as s:
        return s.exec(select(User).where(User.name == name)).one()


def test_a_leader_sees_their_team_members_and_chats(as_leader):
    page = as_leader.get("/admin/team").text
    assert "Thôn Đông" in page and "Anh Minh" in page and "Anh Tú" not in page


def test_members_and_anonymous_visitors_cannot_open_the_team_page(as_member, anonymous):
    assert as_member.get("/admin/team").status_code == 403
    assert anonymous.get("/admin/team", follow_redirects=False).status_code == 303


def test_a_leader_takes_a_member_off_duty_and_back(as_leader, web_app):
    minh = user(web_app, "Anh Minh")
    csrf = as_leader.headers["X-CSRF-Token"]
    as_leader.post("/admin/team/duty", data={"csrf": csrf, "user_id": minh.id})
    assert user(web_app, "Anh Minh").on_duty is False
    as_leader.post("/admin/team/duty", data={"csrf": csrf, "user_id": minh.id, "on_duty": "true"})
    assert user(web_app, "Anh Minh").on_duty is True


def test_a_leader_cannot_change_another_teams_member(as_leader, web_app):
    tu = user(web_app, "Anh Tú")
    response = as_leader.post("/admin/team/duty", data={"csrf": as_leader.headers["X-CSRF-Token"], "user_id": tu.id})
    assert response.status_code == 403 and user(web_app, "Anh Tú").on_duty is True


def test_a_leader_adds_a_member_to_their_own_team_only(as_leader, web_app):
    lan = user(web_app, "Chị Lan")
    csrf = as_leader.headers["X-CSRF-Token"]
    as_leader.post("/admin/team/members", data={"csrf": csrf, "team": 999, "name": "Chị Hoa", "zalo_id": "hoa-z"})
    hoa = user(web_app, "Chị Hoa")
    assert hoa.team_id == lan.team_id and hoa.role == "member" and hoa.zalo_id == "hoa-z"


def test_an_existing_name_is_refused_not_taken_over(as_leader, web_app):
    response = as_leader.post("/admin/team/members", data={"csrf": as_leader.headers["X-CSRF-Token"], "team": 1,
                                                           "name": "Anh Tú"})
    assert response.status_code == 422 and "Đã có người tên" in response.text
    assert user(web_app, "Anh Tú").team_id != user(web_app, "Chị Lan").team_id


def test_forms_without_the_csrf_token_are_refused(as_leader, web_app):
    minh = user(web_app, "Anh Minh")
    assert as_leader.post("/admin/team/duty", data={"csrf": "x", "user_id": minh.id}).status_code == 403
    assert user(web_app, "Anh Minh").on_duty is True
