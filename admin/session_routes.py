"""Login, logout and the home page of the admin side."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from admin import auth
from admin.web import render
from bot.runtime import Runtime
from knowledge.models import utcnow


def router(rt: Runtime) -> APIRouter:
    api = APIRouter()

    @api.get("/admin", include_in_schema=False)
    def home(request: Request) -> Response:
        who = auth.principal(rt, request)
        if who is None:
            return RedirectResponse("/admin/login", status_code=303)
        return render(request, "home.html", who)

    @api.get("/admin/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/admin") -> Response:
        return render(request, "login.html", None, next=_safe_next(next))

    @api.post("/admin/login", include_in_schema=False)
    def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/admin")) -> Response:
        address = request.client.host if request.client else "?"
        with rt.session() as s:
            user = auth.login(s, username, password, address, utcnow())
            token = auth.start_session(s, user, utcnow()) if user else None
            s.commit()
        if token is None:
            return render(request, "login.html", None, status_code=401, next=_safe_next(next),
                          error="Sai tên đăng nhập hoặc mật khẩu.")
        response = RedirectResponse(_safe_next(next), status_code=303)
        secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        response.set_cookie(auth.COOKIE, token, max_age=auth.SESSION_DAYS * 86400, httponly=True, samesite="lax",
                            secure=secure, path="/")
        return response

    @api.post("/admin/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("")) -> Response:
        who = auth.principal(rt, request)
        if who is not None:
            auth.check_csrf_form(who, csrf)
            with rt.session() as s:
                auth.end_session(s, request.cookies.get(auth.COOKIE))
                s.commit()
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    return api


def _safe_next(target: str) -> str:
    """Only paths of this site: a login link must not send people elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/admin"
