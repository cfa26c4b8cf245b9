"""Everything under /admin, /api and the public web chat, mounted by main.create_app."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from admin import api, faq_pages, inbox_pages, session_routes, team_pages, webchat
from admin.auth import principal
from admin.web import HERE, SECURITY_HEADERS, render
from bot.runtime import Runtime


def mount(app: FastAPI, rt: Runtime, wake: Callable[[], None]) -> None:
    """Pages, the JSON API and static files; `wake` tells the worker that new rows are waiting."""
    app.mount("/admin/static", StaticFiles(directory=str(HERE / "static")), name="admin-static")
    app.include_router(session_routes.router(rt))
    for module in (api, faq_pages, inbox_pages, team_pages, webchat):
        app.include_router(module.router(rt, wake))

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        # A page that may be framed (the embedded web chat) says by whom in its own CSP; X-Frame-Options
        # cannot say it, and DENY would contradict it in browsers that ignore frame-ancestors.
        framed = "frame-ancestors 'none'" not in response.headers.get("content-security-policy", "frame-ancestors 'none'")
        for name, value in SECURITY_HEADERS.items():
            if not (framed and name == "X-Frame-Options"):
                response.headers.setdefault(name, value)
        return response

    @app.exception_handler(403)
    async def refused(request: Request, exc) -> Response:
        detail = getattr(exc, "detail", "Tài khoản không có quyền này.")
        if request.url.path.startswith("/admin"):
            return render(request, "refused.html", principal(rt, request), status_code=403, detail=detail)
        return JSONResponse({"detail": detail}, status_code=403)

    @app.exception_handler(401)
    async def login_first(request: Request, exc) -> Response:
        if request.url.path.startswith("/admin"):
            return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": getattr(exc, "detail", "Cần đăng nhập.")}, status_code=401)
