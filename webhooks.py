"""The HTTP edge for chat platforms: verify the raw body, parse, record in the inbox, acknowledge."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot import inbox
from bot.platforms.base import Platform, Rejected
from bot.runtime import Runtime
from knowledge.models import utcnow

log = logging.getLogger("troly.webhooks")

ROUTES = {"zalo": "/webhooks/zalo", "zalo-bot": "/webhooks/zalo-bot", "facebook": "/webhooks/facebook"}


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def router(runtime: Runtime, platforms: Mapping[str, Platform], on_stored: Callable[[], None]) -> APIRouter:
    """Routes for the configured platforms only: an unconfigured one answers 404."""
    api = APIRouter()
    for name, platform in platforms.items():
        if name not in ROUTES:
            continue
        api.add_api_route(ROUTES[name], _receiver(runtime, platform, on_stored), methods=["POST"],
                          include_in_schema=True, name=f"webhook_{name.replace('-', '_')}")
    facebook = platforms.get("facebook")
    if facebook is not None:
        api.add_api_route(ROUTES["facebook"], _subscription(facebook), methods=["GET"], name="webhook_facebook_verify")
    return api


def _receiver(runtime: Runtime, platform: Platform, on_stored: Callable[[], None]):
    metrics = runtime.metrics
    limit = runtime.settings.webhook_max_bytes

    async def receive(request: Request) -> Response:
        response = await _receive(request)
        metrics.webhooks.labels(platform.name, str(response.status_code)).inc()
        return response

    async def _receive(request: Request) -> Response:
        try:
            body = await read_body(request, limit)
            platform.verify(body, {k.lower(): v for k, v in request.headers.items()})
        except TooLarge:
            return _error(413, "body too large")
        except Rejected as rejected:
            log.warning("%s webhook rejected: %s", platform.name, rejected.reason)
            return _error(rejected.status_code, rejected.reason)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested absurdly deep
            return _error(400, "malformed JSON")
        try:
            delivery = platform.parse(payload)
        except Exception:  # an adapter bug: refuse, so that the platform delivers it again later
            log.exception("%s webhook: delivery could not be parsed", platform.name)
            return _error(422, "unreadable delivery")
        for event in delivery.skipped:
            log.info("%s webhook: event %r skipped", platform.name, event)
        if not delivery.messages:
            return JSONResponse({"ok": True, "stored": 0})
        try:
            with runtime.engine.begin() as connection:  # a bare transaction: no ORM session on the hot path
                stored = inbox.record(connection, delivery.messages, utcnow())
        except SQLAlchemyError:
            log.exception("%s webhook: inbox unavailable", platform.name)
            return _error(503, "inbox unavailable, deliver again later")
        if stored:
            metrics.received.labels(platform.name).inc(stored)
            on_stored()
        return JSONResponse({"ok": True, "stored": stored})

    return receive


def _subscription(facebook: Platform):
    def verify_subscription(request: Request) -> Response:
        try:
            return PlainTextResponse(facebook.verify_subscription(dict(request.query_params)))
        except Rejected as rejected:
            return _error(rejected.status_code, rejected.reason)

    return verify_subscription


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
