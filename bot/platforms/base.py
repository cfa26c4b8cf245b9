"""What every platform adapter offers: verify a delivery, parse it, send one reply."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from bot.messages import IncomingMessage, OutgoingMessage
from bot.platforms.text import split_text


class Rejected(Exception):
    """A delivery that must not be stored: wrong or missing signature, bad token (HTTP 401/403)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


class SendError(Exception):
    """A send the platform refused. `transient` ones are retried with back-off."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        token_expired: bool = False,
        retry_after: float | None = None,
        code: int | str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.token_expired = token_expired
        self.retry_after = retry_after
        self.code = code


@dataclass(frozen=True)
class Sent:
    """The platform accepted the message (one part of a split reply)."""

    platform_message_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery parsed: our messages, and event names we skipped (for the log)."""

    messages: list[IncomingMessage] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: int | None = None


class Platform(Protocol):
    name: str  # "zalo" | "zalo-bot" | "facebook": also IncomingMessage.platform
    max_text: int

    def verify(self, body: bytes, headers: Mapping[str, str]) -> object | None:
        """Raise Rejected unless the raw body is signed by the platform. Headers are lower-case.
        Returns the parsed body when checking needed it (so that it is parsed once), else None."""

    def parse(self, payload: object) -> Delivery:
        """Every event of a verified delivery, as our messages. Never raises on odd input."""

    async def send(self, client: httpx.AsyncClient, out: OutgoingMessage, access_token: str | None = None) -> Sent:
        """Deliver one reply (split under max_text); raise SendError when the platform refuses."""


# Helpers the adapters share: one place that turns HTTP outcomes into SendErrors and
# payload values into our ids, so every platform classifies failures the same way.

_SURROGATE = re.compile("[\ud800-\udfff]")

# How the adapters' error tables classify a platform's error code.
TOKEN, TRANSIENT, PERMANENT = "token", "transient", "permanent"


def parts_to_send(text: str, limit: int) -> list[str]:
    """The text cut under the platform's limit; an empty reply is refused for good, not sent."""
    parts = split_text(text, limit)
    if not parts:
        raise SendError("empty reply", transient=False)
    return parts


async def request(client: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> httpx.Response:
    """One HTTP call; a timeout or a broken connection becomes a transient SendError."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise SendError(f"timeout: {type(exc).__name__}", transient=True) from exc
    except httpx.TransportError as exc:
        raise SendError(f"connection failed: {type(exc).__name__}: {exc}", transient=True) from exc


def status_error(
    response: httpx.Response, reason: str = "", *, status: int | None = None, code: int | str | None = None
) -> SendError:
    """Classify a failed HTTP status: 408, 429 and 5xx are retried (honouring Retry-After); other 4xx are not.

    `status` overrides the response's own, for APIs that put an HTTP-like code in the body.
    """
    status = status or response.status_code
    text = f"HTTP {status}" + (f": {reason}" if reason else "")
    transient = status in (408, 429) or status >= 500
    wait = retry_after(response.headers.get("retry-after")) if transient else None
    return SendError(text, transient=transient, retry_after=wait, code=code if code is not None else status)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def json_object(response: httpx.Response) -> dict:
    """The response body as a JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def as_id(value: object) -> str | None:
    """A platform id as a non-empty string; ints are accepted (some senders emit numbers), nothing else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and (value := storable(value)).strip():
        return value
    return None


def as_int(value: object) -> int | None:
    """An integer sent as a number or a numeric string ("90000", "-216"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def as_text(value: object) -> str:
    return storable(value) if isinstance(value, str) else ""


def storable(text: str) -> str:
    """The text without what a database refuses: NUL (PostgreSQL) and lone surrogates (JSON's "\\ud800", not UTF-8)."""
    if text.isprintable():  # nearly every id and text: NUL and surrogates are not printable
        return text
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))
