"""A fake Zalo OA, Zalo Bot and Messenger server for tests and benchmarks: real HTTP on 127.0.0.1.

One uvicorn server in a background thread plays every platform at once, so point
TROLY_ZALO_API_BASE, TROLY_ZALO_OAUTH_BASE, TROLY_ZALO_BOT_API_BASE and TROLY_FACEBOOK_GRAPH_BASE
all at `fake.base_url`:

    with FakePlatform() as fake:
        ...  # the bot replies through fake.base_url
        assert fake.wait_for(1)
        assert fake.texts() == ["Dạ, ..."]

Answers follow the shapes in shared/platforms.md and shared/samples/. Zalo OA answers HTTP 200
with a non-zero `error` on refusal; Zalo Bot answers `{"ok": false, "error_code", "description"}`
with that status; Graph answers 4xx with `{"error": {"message", "type", "code", "fbtrace_id"}}`.
Failures at the HTTP level (http500, timeout, http429, an outage's 503) answer plain text, as a
gateway would: a client must look at the status before it parses the body.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

FailureKind = Literal["http500", "timeout", "http429", "zalo_busy", "zalo_token", "fb_rate_limit", "permanent"]
FAILURE_KINDS: frozenset[str] = frozenset(get_args(FailureKind))

MAX_TEXT = 2000  # characters, on all three platforms (platforms.md sections 2 and 3.4)
ZALO_EXPIRES_IN = "90000"
ZALO_INVALID_TOKEN = -216
ZALO_BUSY = -32
ZALO_NOT_INTERACTED = -230
ZALO_INVALID_PARAMS = -201
# Zalo's OAuth v4 errors are -14xxx; which number means what is unconfirmed.
ZALO_OAUTH_INVALID_PARAMS = -14003
ZALO_OAUTH_INVALID_REFRESH_TOKEN = -14014
GRAPH_VERSION = re.compile(r"v\d+\.\d+")

DEFAULT_GROUPS: tuple[dict[str, Any], ...] = tuple(
    {
        "name": name,
        "avatar": "http://s120.ava.grp.talk.zdn.vn/default",
        "group_id": group_id,
        "group_link": f"https://zalo.me/g/{link}",
        "group_description": description,
        "total_member": members,
        "status": "enabled",
    }
    for name, group_id, link, description, members in (
        ("Thôn Đông - xã An Phú", "5f0c8e2a9b1d4c7e3a60", "thondong01", "Tin tức, thông báo của thôn Đông", 87),
        ("Thôn Tây - xã An Phú", "b7e41d09c3a25f6e8d12", "thontay02", "Nhóm bà con thôn Tây", 64),
        ("Thôn Bắc Sơn - xã Hòa Bình", "2c9a7f5e1b0d63a48e7f", "bacson03", "Hỏi đáp dịch vụ công thôn Bắc Sơn", 45),
        ("Xóm Chợ - xã Hòa Bình", "e03b6d8a4f2c1957b0a9", "xomcho04", "Tổ công nghệ số cộng đồng xóm Chợ", 23),
    )
)


@dataclass
class Recorded:
    """One request the fake received; `status` is None until it is answered."""

    platform: str  # "zalo" | "zalo-bot" | "facebook" | "zalo-oauth" | "unknown" (no such route)
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-case
    body: Any  # parsed JSON, a dict for a form, text if neither, None if empty
    received_at: float  # time.perf_counter() of this process
    received_wall: float  # time.time()
    status: int | None = None
    response: Any = None  # the JSON answered, or the plain text
    delivered: bool = False  # a message send that succeeded

    @property
    def text(self) -> str | None:
        """The message text of a send, if any."""
        body = self.body if isinstance(self.body, dict) else {}
        message = body if self.platform == "zalo-bot" else body.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        return text if isinstance(text, str) else None

    @property
    def recipient(self) -> str | None:
        """Who a send is for: Zalo user_id or group_id, Zalo Bot chat_id, Messenger PSID."""
        body = self.body if isinstance(self.body, dict) else {}
        if self.platform == "zalo-bot":
            return body.get("chat_id")
        to = body.get("recipient")
        if not isinstance(to, dict):
            return None
        return to.get("id") if self.platform == "facebook" else to.get("user_id") or to.get("group_id")


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: Any  # a dict or list is sent as JSON, a str as plain text
    headers: dict[str, str] = field(default_factory=dict)
    delivered: bool = False


def _zalo_error(code: int, message: str) -> _Reply:
    return _Reply(200, {"error": code, "message": message})


def _graph_error(status: int, code: int, message: str, **extra: Any) -> _Reply:
    error = {"message": message, "type": "OAuthException", "code": code, **extra, "fbtrace_id": uuid.uuid4().hex[:11]}
    return _Reply(status, {"error": error})


def _bot_error(status: int, description: str) -> _Reply:
    return _Reply(status, {"ok": False, "error_code": status, "description": description})


def _token_refused(platform: str) -> _Reply:
    if platform == "zalo":
        return _zalo_error(ZALO_INVALID_TOKEN, "Access token is invalid")
    if platform == "zalo-bot":
        return _bot_error(401, "Unauthorized")
    return _graph_error(400, 190, "Error validating access token: Session has expired.", error_subcode=463)


def _invalid(platform: str, problem: str) -> _Reply:
    if platform == "zalo":
        return _zalo_error(ZALO_INVALID_PARAMS, f"Parameters are invalid: {problem}")
    if platform == "zalo-bot":
        return _bot_error(400, f"Bad Request: {problem}")
    return _graph_error(400, 100, f"(#100) {problem}")


def _injected(kind: str, platform: str) -> _Reply:
    """An injected failure other than "timeout", in the shape of the request's platform."""
    if kind == "http500":
        return _Reply(500, "Internal Server Error")
    if kind == "http429":
        return _Reply(429, "Too Many Requests", {"Retry-After": "1"})
    if kind == "zalo_token":
        return _token_refused(platform)
    if kind in ("zalo_busy", "fb_rate_limit"):
        if platform == "zalo":
            return _zalo_error(ZALO_BUSY, "Request exceeds the limit, please try again later")
        if platform == "zalo-bot":
            return _bot_error(429, "Too Many Requests: retry later")
        return _graph_error(400, 613, "(#613) Calls to this api have exceeded the rate limit.")
    if platform == "zalo":  # permanent
        return _zalo_error(ZALO_NOT_INTERACTED, "User has not interacted with the OA in the past 7 days")
    if platform == "zalo-bot":
        return _bot_error(400, "Bad Request: chat not found")
    return _graph_error(400, 551, "(#551) This person isn't available right now.", error_subcode=1545041)


def _problem(platform: str, path: str, body: Any) -> str | None:
    """What is wrong with a send's body, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if platform == "zalo-bot":
        text = body.get("text")
        if not body.get("chat_id"):
            return "chat_id is required"
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            return f"text must be 1 to {MAX_TEXT} characters"
        return None
    to, message = body.get("recipient"), body.get("message")
    key = "id" if platform == "facebook" else "group_id" if path.endswith("/group/message") else "user_id"
    if not isinstance(to, dict) or not to.get(key):
        return f"recipient.{key} is required"
    if platform == "facebook" and message is None and isinstance(body.get("sender_action"), str):
        return None
    if not isinstance(message, dict):
        return "message is required"
    text = message.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        return f"message.text must be at most {MAX_TEXT} characters"
    return None


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


def _message_id() -> str:
    return uuid.uuid4().hex[:20]


class FakePlatform:
    """The fake server. Start it with `with` (or start()/stop()); every helper is thread-safe."""

    def __init__(
        self,
        *,
        zalo_access_token: str = "za-1",
        zalo_refresh_token: str = "zr-1",
        zalo_app_secret: str = "app-secret",
        zalo_bot_token: str = "123:abc",
        facebook_page_token: str = "fb-page",
        groups: Sequence[Mapping[str, Any]] = DEFAULT_GROUPS,
        timeout_delay: float = 2.0,
        latency: float = 0.0,
    ) -> None:
        self._initial = (zalo_access_token, zalo_refresh_token, latency)
        self.zalo_app_secret = zalo_app_secret
        self.zalo_bot_token = zalo_bot_token
        self.facebook_page_token = facebook_page_token
        self.groups: list[dict[str, Any]] = [dict(g) for g in groups]
        self.timeout_delay = timeout_delay
        self.latency = latency
        self.base_url = ""
        self._lock = threading.Lock()
        self._delivered_changed = threading.Condition(self._lock)
        self._records: list[Recorded] = []
        self._delivered_count = 0
        self._failures: deque[str] = deque()
        self._outage_until = 0.0
        self._access_token: str | None = zalo_access_token
        self._refresh_token = zalo_refresh_token
        self._rotations = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> FakePlatform:
        """Listen on an ephemeral port of 127.0.0.1; returns once requests are served."""
        if self._thread is not None:
            raise RuntimeError("FakePlatform is already started")
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (no 40 ms Nagle stalls).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sock),), name=f"fake-platform-{port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError("FakePlatform did not start")
            time.sleep(0.002)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and join the thread: sleeping requests (latency, timeout) end at once."""
        if self._thread is None or self._server is None:
            return
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._thread = self._server = self._loop = self._stopping = None

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        assert self._server is not None
        await self._server.serve(sockets=[sock])

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v3.0/oa/message/cs", self._zalo_send, methods=["POST"]),
                Route("/v3.0/oa/group/message", self._zalo_send, methods=["POST"]),
                Route("/v3.0/oa/group/getgroupsofoa", self._zalo_groups, methods=["GET"]),
                Route("/v4/oa/access_token", self._zalo_oauth, methods=["POST"]),
                Route("/bot{token}/sendMessage", self._bot_send, methods=["POST"]),
                Route("/{version}/{node}/messages", self._facebook_send, methods=["POST"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    # -- controls ---------------------------------------------------------------------------

    @property
    def zalo_access_token(self) -> str | None:
        """The Zalo OA access token accepted now (None after expire_zalo_token())."""
        with self._lock:
            return self._access_token

    @property
    def zalo_refresh_token(self) -> str:
        """The one refresh token /v4/oa/access_token accepts now."""
        with self._lock:
            return self._refresh_token

    def expire_zalo_token(self) -> None:
        """Make the current access token invalid (sends get -216); the refresh token still works."""
        with self._lock:
            self._access_token = None

    def fail_next(self, n: int, kind: FailureKind) -> None:
        """The next n message sends (any platform) fail as `kind`, after failures queued before."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {sorted(FAILURE_KINDS)}")
        with self._lock:
            self._failures.extend([kind] * n)

    def outage(self, seconds: float) -> None:
        """Every send answers HTTP 503 for `seconds` from now; outage(0) ends an outage."""
        with self._lock:
            self._outage_until = time.perf_counter() + seconds

    def reset(self) -> None:
        """Forget requests and pending failures, end any outage, restore the initial tokens and latency."""
        with self._lock:
            self._records.clear()
            self._delivered_count = 0
            self._failures.clear()
            self._outage_until = 0.0
            self._access_token, self._refresh_token, self.latency = self._initial

    # -- what was received ------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Every request so far, in arrival order (copies)."""
        with self._lock:
            return [replace(r) for r in self._records]

    @property
    def delivered(self) -> list[Recorded]:
        """The message sends that succeeded, in arrival order (copies)."""
        with self._lock:
            return [replace(r) for r in self._records if r.delivered]

    def texts(self) -> list[str]:
        """The texts of the delivered sends."""
        return [r.text for r in self.delivered if r.text is not None]

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least n message sends were delivered; False on timeout."""
        with self._delivered_changed:
            return self._delivered_changed.wait_for(lambda: self._delivered_count >= n, timeout)

    # -- request handling (runs on the server's event loop) ----------------------------------

    async def _arrive(self, request: Request, platform: str) -> Recorded:
        received_at, received_wall = time.perf_counter(), time.time()
        raw = await request.body()
        record = Recorded(
            platform=platform,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=_parse_body(raw, request.headers.get("content-type", "")),
            received_at=received_at,
            received_wall=received_wall,
        )
        with self._lock:
            self._records.append(record)
        return record

    def _answer(self, record: Recorded, reply: _Reply) -> Response:
        with self._lock:
            record.status, record.response, record.delivered = reply.status, reply.payload, reply.delivered
            if reply.delivered:
                self._delivered_count += 1
                self._delivered_changed.notify_all()
        if isinstance(reply.payload, str):
            return PlainTextResponse(reply.payload, reply.status, reply.headers)
        return JSONResponse(reply.payload, reply.status, reply.headers)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up as soon as the server stops."""
        if seconds > 0 and self._stopping is not None:
            try:
                await asyncio.wait_for(self._stopping.wait(), seconds)
            except TimeoutError:
                pass

    async def _send(
        self, request: Request, platform: str, authorized: bool, success: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Response:
        """The common path of a message send; `success(body)` builds the platform's answer."""
        record = await self._arrive(request, platform)
        await self._sleep(self.latency)
        with self._lock:
            in_outage = time.perf_counter() < self._outage_until
        if in_outage:
            return self._answer(record, _Reply(503, "Service Unavailable"))
        if not authorized:
            return self._answer(record, _token_refused(platform))
        problem = _problem(platform, record.path, record.body)
        if problem is not None:
            return self._answer(record, _invalid(platform, problem))
        if platform == "facebook" and "message" not in record.body:  # a sender action, not a message
            return self._answer(record, _Reply(200, {"recipient_id": record.recipient}))
        with self._lock:
            kind = self._failures.popleft() if self._failures else None
        if kind == "timeout":
            await self._sleep(self.timeout_delay)
            return self._answer(record, _Reply(500, "Internal Server Error"))
        if kind is not None:
            return self._answer(record, _injected(kind, platform))
        return self._answer(record, _Reply(200, success(record.body), delivered=True))

    def _zalo_authorized(self, request: Request) -> bool:
        with self._lock:
            return self._access_token is not None and request.headers.get("access_token") == self._access_token

    async def _zalo_send(self, request: Request) -> Response:
        group = request.url.path.endswith("/group/message")

        def success(body: dict[str, Any]) -> dict[str, Any]:
            key = "group_id" if group else "user_id"
            data = {"message_id": _message_id(), key: body["recipient"][key]}
            return {"error": 0, "message": "Success", "data": data}

        return await self._send(request, "zalo", self._zalo_authorized(request), success)

    async def _bot_send(self, request: Request) -> Response:
        return await self._send(
            request,
            "zalo-bot",
            request.path_params["token"] == self.zalo_bot_token,
            lambda _: {"ok": True, "result": {"message_id": _message_id(), "date": int(time.time() * 1000)}},
        )

    async def _facebook_send(self, request: Request) -> Response:
        if not GRAPH_VERSION.fullmatch(request.path_params["version"]):
            return await self._unknown(request)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        token = request.query_params.get("access_token") or bearer
        return await self._send(
            request,
            "facebook",
            token == self.facebook_page_token,
            lambda body: {"recipient_id": body["recipient"]["id"], "message_id": f"m_{uuid.uuid4().hex}"},
        )

    async def _zalo_groups(self, request: Request) -> Response:
        record = await self._arrive(request, "zalo")
        if not self._zalo_authorized(request):
            return self._answer(record, _token_refused("zalo"))
        try:
            offset = int(record.query.get("offset", 0))
            count = int(record.query.get("count", 10))
        except ValueError:
            return self._answer(record, _invalid("zalo", "offset and count must be integers"))
        if offset < 0 or count < 1:
            return self._answer(record, _invalid("zalo", "offset must be >= 0 and count >= 1"))
        page = copy.deepcopy(self.groups[offset : offset + count])
        data = {"offset": offset, "count": count, "total": len(self.groups), "group_count": len(page), "groups": page}
        return self._answer(record, _Reply(200, {"data": data, "error": 0, "message": "Success"}))

    async def _zalo_oauth(self, request: Request) -> Response:
        record = await self._arrive(request, "zalo-oauth")
        form = record.body if isinstance(record.body, dict) else {}

        def refused(code: int, description: str) -> Response:
            payload = {"error": code, "error_name": "Invalid parameter", "error_description": description}
            return self._answer(record, _Reply(200, payload))

        if request.headers.get("secret_key") != self.zalo_app_secret:
            return refused(ZALO_OAUTH_INVALID_PARAMS, "Invalid secret_key")
        if form.get("grant_type") != "refresh_token" or not form.get("app_id"):
            return refused(ZALO_OAUTH_INVALID_PARAMS, "grant_type=refresh_token and app_id are required")
        with self._lock:
            if not form.get("refresh_token") or form["refresh_token"] != self._refresh_token:
                rotated = None
            else:
                self._rotations += 1
                self._access_token = f"zalo-access-{self._rotations}"
                self._refresh_token = f"zalo-refresh-{self._rotations}"
                rotated = (self._access_token, self._refresh_token)
        if rotated is None:
            return refused(ZALO_OAUTH_INVALID_REFRESH_TOKEN, "Invalid refresh token: already used or expired")
        payload = {"access_token": rotated[0], "refresh_token": rotated[1], "expires_in": ZALO_EXPIRES_IN}
        return self._answer(record, _Reply(200, payload))

    async def _unknown(self, request: Request) -> Response:
        record = await self._arrive(request, "unknown")
        return self._answer(record, _Reply(404, "Not Found"))
