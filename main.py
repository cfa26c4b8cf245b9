"""Composition root: wires settings, database, FAQ, handlers and platforms into the web app and the CLI."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.engine import Handler
from bot.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.platforms.base import Platform
    from bot.runtime import Runtime


def build_handlers() -> list[Handler]:
    """The handlers in the order they are tried; the first that takes a message wins.

    Text messages go through the group privacy warning, which adds its warning to whatever they answer."""
    from handlers.choice import ChoiceHandler
    from handlers.echo import EchoHandler
    from handlers.faq import FaqHandler
    from handlers.feedback import FeedbackHandler
    from handlers.follow import FollowHandler
    from handlers.hold import HoldHandler
    from handlers.media import MediaHandler
    from handlers.privacy import GroupPrivacyWarning
    from handlers.team import TeamCommandHandler

    return [EchoHandler(), FollowHandler(), MediaHandler(),
            GroupPrivacyWarning([TeamCommandHandler(), ChoiceHandler(), FeedbackHandler(), HoldHandler(),
                                 FaqHandler()])]


def build_platforms(settings: Settings) -> dict[str, Platform]:
    """The platforms whose secrets are set; the others are not mounted at all."""
    from bot.platforms.facebook import Facebook
    from bot.platforms.web import WebChat
    from bot.platforms.zalo_bot import ZaloBot
    from bot.platforms.zalo_oa import ZaloOA

    s = settings
    live: dict[str, Platform] = {"web": WebChat()}
    if s.zalo_app_id and s.zalo_oa_secret_key:
        live["zalo"] = ZaloOA(s.zalo_app_id, s.zalo_oa_secret_key, api_base=s.zalo_api_base,
                              oauth_base=s.zalo_oauth_base, app_secret=s.zalo_app_secret, oa_id=s.zalo_oa_id,
                              bot_names=s.bot_names)
    if s.zalo_bot_secret_token:
        live["zalo-bot"] = ZaloBot(s.zalo_bot_token, s.zalo_bot_secret_token, api_base=s.zalo_bot_api_base,
                                   bot_names=s.bot_names)
    if s.facebook_app_secret and s.facebook_verify_token:
        live["facebook"] = Facebook(s.facebook_app_secret, s.facebook_verify_token, s.facebook_page_token,
                                    graph_base=s.facebook_graph_base, graph_version=s.facebook_graph_version,
                                    app_id=s.facebook_app_id)
    return live


def build_service(runtime: Runtime, platforms: dict[str, Platform]):
    """The worker and the sender over this runtime's database."""
    from bot.engine import Engine
    from bot.worker import Service

    return Service(runtime, Engine(build_handlers()), platforms)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The ASGI app: health, metrics, the platforms' webhooks, and the worker when configured."""
    from contextlib import asynccontextmanager

    from fastapi.responses import JSONResponse, Response

    import webhooks
    from admin import app as admin_app
    from bot.logs import RequestIds
    from bot.runtime import Runtime

    rt = runtime or Runtime.start(settings or Settings())
    platforms = build_platforms(rt.settings)
    service = build_service(rt, platforms) if rt.settings.worker_in_serve else None

    @asynccontextmanager
    async def lifespan(app: webhooks.App):
        if service is not None:
            service.start()
        yield
        if service is not None:
            await service.close()
        app.close_receivers()

    app = webhooks.App(title="Trợ lý số", version="0.1.0", lifespan=lifespan)
    app.state.runtime = rt
    app.state.service = service
    wake = service.wake if service is not None else (lambda: None)
    webhooks.mount(app, rt, platforms, wake)
    admin_app.mount(app, rt, wake)
    app.add_middleware(RequestIds)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    def readyz() -> JSONResponse:
        """Ready when the database answers and its schema is this version's; 503 with the reason otherwise."""
        from bot.schema import HEAD, readiness

        found = readiness(rt.engine)
        if found.ready:
            return JSONResponse({"status": "ready", "revision": found.revision, "head": HEAD})
        return JSONResponse({"status": "not ready", "reason": found.reason, "revision": found.revision, "head": HEAD},
                            status_code=503)

    @app.get("/metrics", response_model=None)
    def metrics() -> Response:
        return Response(rt.metrics.render(), media_type="text/plain; version=0.0.4")

    return app


def build_wiring():
    """What the command line needs from the composition root."""
    from bot.cli import Wiring

    return Wiring(handlers=build_handlers, platforms=build_platforms, service=build_service,
                  app=lambda rt: create_app(runtime=rt))


def cli(argv: Sequence[str] | None = None) -> int:
    from bot.cli import run

    return run(argv, build_wiring())


def __getattr__(name: str):
    # `uvicorn main:app` works without building an app (and a database) at import time.
    if name == "app":
        return create_app()
    raise AttributeError(name)


if __name__ == "__main__":
    sys.exit(cli())
