"""A leader's team page: members, who is on duty, the linked chats; adding a member."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from admin import auth
from admin.auth import Principal
from admin.web import render
from bot import people
from bot.runtime import Runtime
from bot.tables import ChatLink, Team, User


def router(rt: Runtime, wake: Callable[[], None]) -> APIRouter:
    api = APIRouter()

    @api.get("/admin/team", include_in_schema=False)
    def team_page(request: Request, team: int | None = None, msg: str = "") -> Response:
        who = auth.require(rt, request, "leader")
        with rt.session() as s:
            chosen = _team_for(s, who, team)
            teams = list(s.exec(select(Team).order_by(Team.name)).all()) if who.role == "admin" else []
            members = list(s.exec(select(User).where(User.team_id == chosen.id).order_by(User.name)).all()) if chosen else []
            chats = list(s.exec(select(ChatLink).where(ChatLink.team_id == chosen.id)).all()) if chosen else []
        return render(request, "team.html", who, team=chosen, teams=teams, members=members, chats=chats, msg=msg)

    @api.post("/admin/team/duty", include_in_schema=False)
    def duty(request: Request, csrf: str = Form(""), user_id: int = Form(...), on_duty: bool = Form(False)) -> Response:
        who = auth.require_form(rt, request, csrf, "leader")
        with rt.session() as s:
            user = s.get(User, user_id)
            if user is None or not who.can_see_team(user.team_id):
                raise HTTPException(403, "Người này thuộc tổ khác.")
            user.on_duty = on_duty
            s.add(user)
            s.commit()
            team_id = user.team_id
        return RedirectResponse(f"/admin/team?team={team_id}&msg=duty", status_code=303)

    @api.post("/admin/team/members", include_in_schema=False)
    def add_member(request: Request, csrf: str = Form(""), team: int = Form(...), name: str = Form(""),
                   zalo_id: str = Form(""), facebook_id: str = Form(""), password: str = Form("")) -> Response:
        who = auth.require_form(rt, request, csrf, "leader")
        with rt.session() as s:
            chosen = _team_for(s, who, team)
            problem = _member_problem(s, name, chosen)
            if problem is None:
                people.add_user(s, name, "member", chosen.name, zalo_id.strip() or None, facebook_id.strip() or None,
                                password or None)
                s.commit()
                return RedirectResponse(f"/admin/team?team={chosen.id}&msg=added", status_code=303)
            members = list(s.exec(select(User).where(User.team_id == chosen.id).order_by(User.name)).all())
            chats = list(s.exec(select(ChatLink).where(ChatLink.team_id == chosen.id)).all())
        return render(request, "team.html", who, status_code=422, team=chosen, teams=[], members=members, chats=chats,
                      error=problem, form={"name": name, "zalo_id": zalo_id, "facebook_id": facebook_id})

    return api


def _team_for(s: Session, who: Principal, team_id: int | None) -> Team | None:
    """A leader always gets their own team; an admin the one asked for, or the first."""
    if who.role != "admin":
        return s.get(Team, who.team_id) if who.team_id else None
    if team_id is not None:
        team = s.get(Team, team_id)
        if team is None:
            raise HTTPException(404, "Không có tổ này.")
        return team
    return s.exec(select(Team).order_by(Team.name)).first()


def _member_problem(s: Session, name: str, team: Team | None) -> str | None:
    if team is None:
        return "Chưa có tổ nào."
    if not name.strip():
        return "Cần nhập tên thành viên."
    existing = s.exec(select(User).where(User.name == name.strip())).first()
    if existing is not None:
        return f"Đã có người tên \"{name.strip()}\"; hãy đặt tên khác (ví dụ thêm tên thôn)."
    return None
