"""Everything under /admin, /api and the public web chat, mounted by main.create_app."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(403)
    async def refused(request: Request, exc) -> Response:
        detail = getattr(exc, "detail", "Tài khoản không có quyền này.")
        if request.url.path.startswith("/admin"):
            return render(request, "refused.html", principal(rt, request), status_code=403, detail=detail)
        return JSONResponse({"detail": detail}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own 422 without the echoed input, and in ASCII: a JSON body may carry NaN or a lone
        # surrogate ("\\ud800") that a JSON response cannot render, which turned bad input into a 500.
        errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
        body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(401)
    async def login_first(request: Request, exc) -> Response:
        if request.url.path.startswith("/admin"):
            return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": getattr(exc, "detail", "Cần đăng nhập.")}, status_code=401)


class SecurityHeaders:
    """Adds the security headers to every response for a browser; plain ASGI, so it costs little."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Webhook answers are read by platforms, never by a browser: they need no headers for one.
        if scope["type"] != "http" or scope["path"].startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # A page that may be framed (the embedded web chat) says by whom in its own CSP; X-Frame-Options
                # cannot say it, and DENY would contradict it in browsers that ignore frame-ancestors.
                framed = "frame-ancestors 'none'" not in headers.get("content-security-policy", "frame-ancestors 'none'")
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers and not (framed and name == "X-Frame-Options"):
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
