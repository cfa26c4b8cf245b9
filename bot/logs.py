"""Structured logs: one JSON object per line, tagged with the request or message at hand, numbers masked."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from bot.privacy import mask

current_request: ContextVar[str | None] = ContextVar("troly_request", default=None)
current_message: ContextVar[str | None] = ContextVar("troly_message", default=None)

SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        if (request := current_request.get()) is not None:
            entry["request_id"] = request
        if (message := current_message.get()) is not None:
            entry["message_id"] = message
        if record.exc_info:
            entry["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the same content on one readable line."""

    def format(self, record: logging.LogRecord) -> str:
        tags = " ".join(t for t in (current_request.get(), current_message.get()) if t)
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()}" + (f" [{tags}]" if tags else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return mask(line)


def configure(level: str = "info", form: str = "json") -> None:
    """Send every log line of this process (uvicorn's too) to stderr in the chosen form."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate, logger.disabled = True, False
    # httpx logs every request at info: a JSON line for each reply sent costs the sender CPU, and the
    # sender logs the sends that fail itself. At debug level they are kept.
    logging.getLogger("httpx").setLevel(logging.WARNING if root.level > logging.DEBUG else logging.NOTSET)


@contextmanager
def handling(message_id: str) -> Iterator[None]:
    """Log lines written inside carry this message id (an inbox or outbox row)."""
    token = current_message.set(message_id)
    try:
        yield
    finally:
        current_message.reset(token)


def request_id_of(given: str) -> str:
    """The caller's X-Request-ID if sane, else a new one."""
    return given if SAFE_REQUEST_ID.fullmatch(given) else os.urandom(8).hex()


@contextmanager
def with_request_id(request_id: str) -> Iterator[None]:
    """Log lines written inside carry this request id."""
    token = current_request.set(request_id)
    try:
        yield
    finally:
        current_request.reset(token)


class RequestIds:
    """ASGI middleware: each request gets an id (the caller's X-Request-ID if sane), logged and answered back."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), ""))

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        with with_request_id(request_id):
            await self.app(scope, receive, send_with_id)
