"""The public web chat (platform `web`): the page at `/`, its message routes and the embeddable script.

A browser's message takes the same path as a Zalo or Messenger one: it is recorded in the inbox and
the worker answers it into the outbox; the page reads its replies from the outbox rows of its chats.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from admin.web import HERE, SECURITY_HEADERS, render
from bot import inbox
from bot.messages import ChatKind, IncomingMessage
from bot.platforms.text import mentions_name, names_pattern
from bot.runtime import Runtime
from bot.tables import OutboxMessage, aware
from knowledge.models import utcnow

log = logging.getLogger("troly.webchat")

COOKIE = "troly_web"
COOKIE_DAYS = 365
SECRET = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_CHARS = 2000
BODY_LIMIT = 32_000  # 2,000 characters as JSON escapes (\uXXXX) are 12 kB at most
PER_MINUTE = 20
HISTORY = 50  # a fresh tab shows this many earlier replies at most
MAX_ID = 2**31 - 1  # PostgreSQL's integer range (ids are INTEGER): a larger `after` is refused, not a 500
SENDER_NAME = "Khách trang web"
EXAMPLES = ("Quên mật khẩu VNeID thì làm sao?", "Làm căn cước cho con cần những gì?",
            "Chuyển khoản nhầm thì phải làm gì?")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # and lone surrogates: no UTF-8 for them

EMPTY = "Tin nhắn đang trống, hãy nhập câu hỏi."
TOO_LONG = "Tin nhắn dài quá 2.000 ký tự, hãy viết ngắn lại."
UNREADABLE = "Tin nhắn không đọc được, hãy tải lại trang rồi gửi lại."
NOT_JSON = "Tin nhắn phải được gửi từ trang trò chuyện."
FOREIGN = "Chỉ gửi được tin nhắn từ chính trang Trợ lý số."
NO_BROWSER = "Trình duyệt chưa được nhận diện (có thể do chặn cookie), hãy tải lại trang."
TOO_FAST = "Bạn gửi nhanh quá, xin đợi một phút rồi gửi tiếp."
BUSY = "Máy chủ đang bận, xin gửi lại sau ít phút."
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Browser:
    """One browser's ids, derived from the secret in its cookie.

    Chat ids show up in the admin inbox and logs; deriving them with SHA-256 means that seeing one
    never lets anybody read that browser's replies, which need the secret itself.
    """

    sender_id: str  # also the private chat's id, as on Zalo
    group_chat: str  # the simulated village group of "Chế độ nhóm"

    @classmethod
    def of(cls, secret: str) -> Browser:
        digest = hashlib.sha256(secret.encode()).hexdigest()[:32]
        return cls(sender_id=f"web-{digest}", group_chat=f"webgroup-{digest}")

    def message(self, text: str, group: bool, mentions_bot: bool) -> IncomingMessage:
        return IncomingMessage(
            platform="web", chat_id=self.group_chat if group else self.sender_id,
            chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE, sender_id=self.sender_id,
            message_id=f"web-{secrets.token_hex(16)}", text=text, sender_name=SENDER_NAME, mentions_bot=mentions_bot,
        )


class RateLimit:
    """At most `limit` events per key in a sliding window, in this process's memory.

    Several `serve` processes each count on their own; the limit is against a flooding browser,
    not an exact quota, so that is acceptable and costs no database write.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._events: dict[str, list[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        recent = [t for t in self._events.get(key, ()) if now - t < self.window]
        allowed = len(recent) < self.limit
        if allowed:
            recent.append(now)
        self._events[key] = recent
        if len(self._events) > self.max_keys:
            self._forget_idle(now)
        return allowed

    def _forget_idle(self, now: float) -> None:
        self._events = {k: v for k, v in self._events.items() if v and now - v[-1] < self.window}


class Refused(Exception):
    """A message the page cannot send, with the status and the text shown to the person."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def router(rt: Runtime, wake: Callable[[], None]) -> APIRouter:
    """The page, its message routes and /embed.js; `wake` tells the worker that a message waits."""
    api = APIRouter()
    limiter = RateLimit(PER_MINUTE, 60.0)
    bot_names = names_pattern(rt.settings.bot_names)
    embed_csp = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", f"frame-ancestors {rt.settings.webchat_frame_ancestors}")

    @api.get("/", include_in_schema=False)
    def page(request: Request) -> Response:
        embed = request.query_params.get("embed") == "1"
        response = render(request, "webchat.html", None, embed=embed, examples=EXAMPLES, max_chars=MAX_CHARS)
        if browser_of(request) is None:
            response.headers.append("set-cookie", cookie_header(secrets.token_urlsafe(24), embed, is_https(request)))
        response.headers.update(NO_STORE)
        if embed:
            # Only the embedded page may be framed; every other page keeps frame-ancestors 'none'.
            response.headers["Content-Security-Policy"] = embed_csp
        return response

    @api.get("/embed.js", include_in_schema=False)
    def embed_script() -> Response:
        return FileResponse(HERE / "static" / "embed.js", media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=3600"})

    @api.post("/webchat/messages", status_code=202, include_in_schema=False)
    async def post_message(request: Request) -> Response:
        try:
            check_same_origin(request)
            check_json(request)
            browser = browser_of(request)
            if browser is None:
                raise Refused(403, NO_BROWSER)
            text, group = parse(await read_body(request))
            if not limiter.allow(browser.sender_id):
                raise Refused(429, TOO_FAST)
        except Refused as refused:
            return refusal(refused)
        message = browser.message(text, group, group and mentions_name(text, bot_names))
        try:
            await asyncio.to_thread(store, rt, message)
        except SQLAlchemyError:
            log.exception("web chat: inbox unavailable")
            return refusal(Refused(503, BUSY))
        rt.metrics.received.labels("web").inc()
        wake()  # on the event loop's thread: the worker's wake-up event is not thread-safe
        return JSONResponse({"id": message.message_id}, status_code=202)

    @api.get("/webchat/messages", include_in_schema=False)
    def messages(request: Request, after: int = Query(0, ge=0, le=MAX_ID)) -> Response:
        try:
            check_same_origin(request)
        except Refused as refused:
            return refusal(refused)
        browser = browser_of(request)
        if browser is None:
            return JSONResponse([], headers=NO_STORE)
        with rt.session() as s:
            rows = replies(s, browser, after)
        return JSONResponse([as_json(row, browser) for row in rows], headers=NO_STORE)

    return api


def refusal(refused: Refused) -> JSONResponse:
    retry = {"Retry-After": "60"} if refused.status in (429, 503) else None
    return JSONResponse({"detail": refused.text}, status_code=refused.status, headers=retry)


def browser_of(request: Request) -> Browser | None:
    secret = request.cookies.get(COOKIE, "")
    return Browser.of(secret) if SECRET.match(secret) else None


def cookie_header(secret: str, embed: bool, https: bool) -> str:
    """The identity cookie; written by hand because Starlette only offers `Partitioned` on Python 3.14."""
    parts = [f"{COOKIE}={secret}", "Path=/", f"Max-Age={COOKIE_DAYS * 86400}", "HttpOnly"]
    if embed:
        # In a commune's page the frame is cross-site: only a partitioned SameSite=None cookie is kept,
        # and it is kept for that site alone, so other sites never share this identity.
        parts += ["Secure", "SameSite=None", "Partitioned"]
    else:
        parts += ["SameSite=Lax", *(["Secure"] if https else [])]
    return "; ".join(parts)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def check_same_origin(request: Request) -> None:
    """CSRF: refuse a request that the browser says comes from another site.

    Anybody may chat, so there is no secret to steal; the risk is another site making a visitor's
    browser post or read in their name. Sec-Fetch-Site is set by the browser itself and survives
    reverse proxies that rewrite Host, so it decides when present; otherwise Origin must name this
    host. Requests with neither come from old browsers or scripts: for them check_json's required
    JSON content type forces a CORS preflight that we never grant, and HTML forms cannot send it.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):  # "none": typed in the address bar
            raise Refused(403, FOREIGN)
        return
    origin = request.headers.get("origin")
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if origin is not None and origin.split("://", 1)[-1] not in hosts:
        raise Refused(403, FOREIGN)


def check_json(request: Request) -> None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refused(415, NOT_JSON)


async def read_body(request: Request) -> bytes:
    """The body, refused past BODY_LIMIT bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        raise Refused(413, TOO_LONG)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise Refused(413, TOO_LONG)
    return bytes(body)


def parse(body: bytes) -> tuple[str, bool]:
    """The text (stripped, within MAX_CHARS) and the group flag of a posted message."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(422, UNREADABLE) from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not isinstance(data.get("group", False), bool):
        raise Refused(422, UNREADABLE)
    # PostgreSQL refuses NUL in text, and other control characters only hide what was written.
    text = CONTROL.sub("", data["text"].replace("\r\n", "\n")).strip()
    if not text:
        raise Refused(422, EMPTY)
    if len(text) > MAX_CHARS:
        raise Refused(422, TOO_LONG)
    return text, data.get("group", False)


def store(rt: Runtime, message: IncomingMessage) -> None:
    with rt.session() as s:
        inbox.record(s, [message], utcnow())
        s.commit()


def replies(session: Session, browser: Browser, after: int) -> list[OutboxMessage]:
    """The bot's messages to this browser's two chats after `after` (the newest HISTORY), oldest first.

    Pending rows are shown too: for the web the outbox row is the delivery, the sender only marks it.
    """
    rows = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.platform == "web", OutboxMessage.chat_id.in_([browser.sender_id, browser.group_chat]),
               OutboxMessage.id > after, OutboxMessage.status != "failed")
        .order_by(OutboxMessage.id.desc()).limit(HISTORY)
    ).all()
    return list(reversed(rows))


def as_json(row: OutboxMessage, browser: Browser) -> dict:
    return {"id": row.id, "text": row.text, "group": row.chat_id == browser.group_chat,
            "at": aware(row.created_at).isoformat(), "mention": row.mention_user_id == browser.sender_id}
