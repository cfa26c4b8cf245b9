"""The HTTP edge for chat platforms: verify the raw body, parse, record in the inbox, acknowledge.

Each webhook is a plain ASGI endpoint, not a FastAPI route, and `App` hands it the POST before the
middleware stack: a delivery needs no dependency injection, validation, error pages or browser headers,
and skipping that machinery is most of what an acknowledgement costs beyond its own work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import Counter
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import inbox
from bot.logs import request_id_of, with_request_id
from bot.platforms.base import Platform, Rejected
from bot.runtime import Runtime
from knowledge.models import utcnow

log = logging.getLogger("troly.webhooks")

ROUTES = {"zalo": "/webhooks/zalo", "zalo-bot": "/webhooks/zalo-bot", "facebook": "/webhooks/facebook"}


STORED_ONE = {"ok": True, "stored": 1}
STORED_ONE_JSON = b'{"ok":true,"stored":1}'


class TooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


class App(FastAPI):
    """FastAPI whose webhook POSTs go straight to their receivers, ahead of the middleware stack."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.receivers: dict[str, Receiver] = {}

    def build_middleware_stack(self) -> ASGIApp:
        return Ahead(self.receivers, super().build_middleware_stack())

    def close_receivers(self) -> None:
        """At shutdown: each receiver keeps a database connection between deliveries."""
        for receiver in self.receivers.values():
            receiver.close()


class Ahead:
    """Dispatch a POST on a webhook path to its receiver; everything else to the app's full stack."""

    def __init__(self, receivers: Mapping[str, Receiver], app: ASGIApp) -> None:
        self.receivers = receivers
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        receiver = self.receivers.get(scope["path"]) if scope["type"] == "http" else None
        if receiver is not None and scope["method"] == "POST":
            await receiver(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def mount(app: App, runtime: Runtime, platforms: Mapping[str, Platform], on_stored: Callable[[], None]) -> None:
    """Routes for the configured platforms only (an unconfigured one answers 404), tried before any other.
    The routes stay in the router too, so that other methods get a 405 and the paths are listed."""
    routes: list[Route] = []
    for name, platform in platforms.items():
        if name in ROUTES:
            receiver = app.receivers[ROUTES[name]] = Receiver(runtime, platform, on_stored)
            routes.append(Route(ROUTES[name], receiver, methods=["POST"], name=f"webhook_{name.replace('-', '_')}"))
    facebook = platforms.get("facebook")
    if facebook is not None:
        routes.append(Route(ROUTES["facebook"], _subscription(facebook), methods=["GET"],
                            name="webhook_facebook_verify"))
    app.router.routes[:0] = routes


class Receiver:
    """POST /webhooks/{platform}: verify, parse, store each message once, answer at once."""

    def __init__(self, runtime: Runtime, platform: Platform, on_stored: Callable[[], None]) -> None:
        self.runtime = runtime
        self.platform = platform
        self.on_stored = on_stored
        self.limit = runtime.settings.webhook_max_bytes
        self.inbox = inbox.Writer(runtime.engine)
        # SQLite commits in microseconds, on the event loop; PostgreSQL's commits are shared (see GroupWriter).
        self.grouped = inbox.GroupWriter(self.inbox) if runtime.engine.dialect.name == "postgresql" else None
        self.metrics = runtime.metrics
        self.received = self.metrics.received.labels(platform.name)
        self.by_status: dict[int, Counter] = {}

    def close(self) -> None:
        (self.grouped or self.inbox).close()

    def counter(self, status: int) -> Counter:
        """The webhook counter's child for one status, looked up once (labels() costs more than inc())."""
        if status not in self.by_status:
            self.by_status[status] = self.metrics.webhooks.labels(self.platform.name, str(status))
        return self.by_status[status]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = request_id_of(headers.get("x-request-id", ""))
        with with_request_id(request_id):
            await self.answer(receive, send, headers, request_id)

    async def answer(self, receive: Receive, send: Send, headers: dict[str, str], request_id: str) -> None:
        try:
            body = await read_body(receive, headers, self.limit)
        except Disconnected:
            return
        except TooLarge:
            status, answer = 413, _error("body too large")
        else:
            status, answer = await self.handle(body, headers)
        self.counter(status).inc()
        content = _json(answer)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode()),
                                (b"x-request-id", request_id.encode())]})
        await send({"type": "http.response.body", "body": content})

    async def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
        platform = self.platform
        try:
            payload = platform.verify(body, headers)
        except Rejected as rejected:
            log.warning("%s webhook rejected: %s", platform.name, rejected.reason)
            return rejected.status_code, _error(rejected.reason)
        try:
            payload = json.loads(body) if payload is None else payload
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested absurdly deep
            return 400, _error("malformed JSON")
        try:
            delivery = platform.parse(payload)
        except Exception:  # an adapter bug: refuse, so that the platform delivers it again later
            log.exception("%s webhook: delivery could not be parsed", platform.name)
            return 422, _error("unreadable delivery")
        for event in delivery.skipped:
            log.info("%s webhook: event %r skipped", platform.name, event)
        if not delivery.messages:
            return 200, {"ok": True, "stored": 0}
        try:
            if self.grouped is not None:
                stored = await self.grouped.record(delivery.messages)
            else:
                stored = self.inbox.record(delivery.messages, utcnow())
        except inbox.Unavailable:
            log.exception("%s webhook: inbox unavailable", platform.name)
            return 503, _error("inbox unavailable, deliver again later")
        if stored:
            self.received.inc(stored)
            self.on_stored()
        return 200, {"ok": True, "stored": stored}


async def read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The raw body, refused past `limit` bytes without reading the rest."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        body += message.get("body", b"")
        if len(body) > limit:
            raise TooLarge
        if not message.get("more_body", False):
            return bytes(body)


def _subscription(facebook: Platform):
    def verify_subscription(request: Request) -> Response:
        try:
            return PlainTextResponse(facebook.verify_subscription(dict(request.query_params)))
        except Rejected as rejected:
            return Response(_json(_error(rejected.reason)), status_code=rejected.status_code,
                            media_type="application/json")

    return verify_subscription


def _json(answer: dict) -> bytes:
    if answer == STORED_ONE:  # nearly every acknowledgement
        return STORED_ONE_JSON
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


def _error(reason: str) -> dict:
    return {"ok": False, "error": reason}
