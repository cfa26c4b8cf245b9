"""Composition root: wires settings, database, FAQ and handlers into the web app and the CLI."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.engine import Handler
from bot.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.runtime import Runtime


def build_handlers() -> list[Handler]:
    """The handlers in the order they are tried; the first that takes a message wins."""
    from handlers.choice import ChoiceHandler
    from handlers.faq import FaqHandler

    return [ChoiceHandler(), FaqHandler()]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The ASGI app: health check now; webhooks and admin pages mount here."""
    from fastapi import FastAPI

    from bot.runtime import Runtime

    rt = runtime or Runtime.start(settings or Settings())
    app = FastAPI(title="Trợ lý số", version="0.1.0")
    app.state.runtime = rt

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def cli(argv: Sequence[str] | None = None) -> int:
    from bot.cli import run

    return run(argv, build_handlers())


def __getattr__(name: str):
    # `uvicorn main:app` works without building an app (and a database) at import time.
    if name == "app":
        return create_app()
    raise AttributeError(name)


if __name__ == "__main__":
    sys.exit(cli())
