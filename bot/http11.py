"""A lean HTTP/1.1 transport for the sender's httpx client: keep-alive connections on asyncio streams.

httpcore, httpx's own transport, cost the sender more CPU per reply than the rest of a reply's work
(anyio wrappers, a pool walked on every request and response, headers and body written apart). A platform
call is one small request and one small answer on a kept connection, so this does only that: one write,
the status line and headers, a body by Content-Length, chunks or close. Adapters and their tests still
speak httpx; only the bytes on the wire go through here. Proxies stay httpx's job (see `delivery.http_client`).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_HEAD = 64 * 1024  # status line and headers
MAX_BODY = 16 * 1024 * 1024  # a platform's answer is a few hundred bytes; this only bounds a broken server
_DROPPED = {b"content-length", b"transfer-encoding"}  # set from the body itself


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def usable(self, keepalive_seconds: float) -> bool:
        """Not closed by the server while idle, and not idle for so long that the server may close it now."""
        fresh = time.monotonic() - self.idle_since < keepalive_seconds
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True)
class _Head:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]

    def get(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """At most `max_connections` connections in all; idle ones are reused for `keepalive_seconds`."""

    def __init__(self, ssl_context: ssl.SSLContext, max_connections: int = 32, keepalive_seconds: float = 5.0) -> None:
        self.ssl_context = ssl_context
        self.keepalive_seconds = keepalive_seconds
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        with _mapped(httpx.PoolTimeout, httpx.PoolTimeout, request):
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        try:
            origin = (request.url.scheme, request.url.host, request.url.port or _default_port(request.url.scheme))
            connection = self._take(origin) or await self._open(origin, timeouts.get("connect"), request)
            try:
                response, reusable = await self._exchange(connection, request, timeouts)
            except BaseException:
                connection.close()
                raise
            if reusable:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close()
            return response
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin, [])
        while idle:
            connection = idle.pop()
            if connection.usable(self.keepalive_seconds):
                return connection
            connection.close()
        return None

    async def _open(self, origin: tuple[str, str, int], timeout: float | None, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        tls = self.ssl_context if scheme == "https" else None
        with _mapped(httpx.ConnectTimeout, httpx.ConnectError, request):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None,
                                                               limit=MAX_HEAD)
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, request: httpx.Request,
                        timeouts: dict[str, float | None]) -> tuple[httpx.Response, bool]:
        """Send the request, read the answer; whether the connection may be used again."""
        body = await request.aread()
        with _mapped(httpx.WriteTimeout, httpx.WriteError, request):
            async with asyncio.timeout(timeouts.get("write")):
                connection.writer.write(_request_bytes(request, body))
                await connection.writer.drain()
        with _mapped(httpx.ReadTimeout, httpx.ReadError, request):
            async with asyncio.timeout(timeouts.get("read")):
                head = await _read_head(connection.reader)
                content, complete = await _read_body(connection.reader, head, request.method)
        reusable = complete and (head.get(b"connection") or b"").lower() != b"close"
        response = httpx.Response(head.status, headers=head.headers, content=content, request=request,
                                  extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason})
        return response, reusable


class LeanClient(httpx.AsyncClient):
    """httpx's client with a short way to the keep-alive transport for the adapters' calls.

    Between `request` and the transport httpx merges cookies, auth, redirects and event hooks, none of which a
    platform call uses, and that cost the sender more CPU than the exchange on the wire (0.6 against 0.4 ms per
    call in all). A call that sets any other option takes httpx's usual way.
    """

    def __init__(self, transport: KeepAliveTransport, timeout: float) -> None:
        super().__init__(transport=transport, timeout=timeout)
        self._lean = transport
        self._timeouts = httpx.Timeout(timeout).as_dict()

    async def request(self, method: str, url: httpx.URL | str, *, params: Any = None, headers: Any = None,
                      json: Any = None, data: Any = None, content: Any = None, **other: Any) -> httpx.Response:
        if any(value is not None and value is not httpx.USE_CLIENT_DEFAULT for value in other.values()):
            return await super().request(method, url, params=params, headers=headers, json=json, data=data,
                                         content=content, **other)
        merged = self.headers.copy()
        if headers:
            merged.update(headers)
        call = httpx.Request(method, url, params=params, headers=merged, json=json, data=data, content=content,
                             extensions={"timeout": self._timeouts})
        return await self._lean.handle_async_request(call)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    lines += [b"%s: %s" % (k, v) for k, v in request.headers.raw if k.lower() not in _DROPPED]
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    """The status line and headers; informational (1xx) answers are skipped."""
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            raise httpx.RemoteProtocolError("the server closed the connection without an answer") from error
        except asyncio.LimitOverrunError as error:
            raise httpx.RemoteProtocolError("the answer's headers are too long") from error
        head = _parse_head(raw)
        if not 100 <= head.status < 200:
            return head


def _parse_head(raw: bytes) -> _Head:
    status_line, *lines = raw[:-4].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    headers = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise httpx.RemoteProtocolError(f"not a header line: {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return _Head(int(parts[1]), parts[2] if len(parts) > 2 else b"", headers)


async def _read_body(reader: asyncio.StreamReader, head: _Head, method: str) -> tuple[bytes, bool]:
    """The body, and whether it ended where the server said (else the connection cannot be reused)."""
    if method == "HEAD" or head.status in (204, 304):
        return b"", True
    try:
        if (head.get(b"transfer-encoding") or b"").lower().endswith(b"chunked"):
            return await _read_chunks(reader), True
        length = head.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > MAX_BODY:
                raise httpx.RemoteProtocolError(f"bad Content-Length: {length[:40]!r}")
            return await reader.readexactly(int(length)), True
        return await _read_to_close(reader), False
    except asyncio.IncompleteReadError as error:
        raise httpx.RemoteProtocolError("the server closed the connection in the middle of the answer") from error


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts, total = [], 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as error:
            raise httpx.RemoteProtocolError(f"bad chunk size: {size_line[:40]!r}") from error
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, ignored
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise httpx.RemoteProtocolError("the answer is too long")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    parts, total = [], 0
    while part := await reader.read(64 * 1024):
        total += len(part)
        if total > MAX_BODY:
            raise httpx.RemoteProtocolError("the answer is too long")
        parts.append(part)
    return b"".join(parts)


@contextmanager
def _mapped(timeout_error: type[httpx.TimeoutException], io_error: type[httpx.TransportError],
            request: httpx.Request) -> Iterator[None]:
    """asyncio's and the socket's errors as httpx's, which the adapters already turn into SendErrors."""
    try:
        yield
    except TimeoutError as error:
        raise timeout_error(str(error) or "timed out", request=request) from error
    except (OSError, asyncio.LimitOverrunError) as error:
        raise io_error(f"{type(error).__name__}: {error}", request=request) from error
