"""The sender's keep-alive transport against a raw HTTP/1.1 server on 127.0.0.1 that answers as scripted."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.http11 import KeepAliveTransport, LeanClient
from bot.platforms.base import SendError, request

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"error\":0}"
Answer = bytes | None  # None: close the connection without answering


class ScriptedServer:
    """Answers the n-th request with the n-th scripted answer; records each request and connection."""

    def __init__(self, answers: list[Answer], tls: ssl.SSLContext | None = None, delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.tls = tls
        self.delay = delay
        self.requests: list[bytes] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()
        await asyncio.sleep(0.01)  # the handlers see their connections end

    def url(self, path: str = "/v3.0/oa/message/cs", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                await asyncio.sleep(self.delay)
                answer = self.answers.pop(0)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer or b"Content-Length" not in answer and b"chunked" not in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def run(scenario: Callable[[httpx.AsyncClient], Awaitable[None]], *, timeout: float = 5.0,
        tls: ssl.SSLContext | None = None, connections: int = 32) -> None:
    """The scenario with the sender's client, and with httpx's own client over the same transport."""
    async def main(client_class: Callable[[KeepAliveTransport], httpx.AsyncClient]) -> None:
        async with client_class(KeepAliveTransport(tls or ssl.create_default_context(), connections)) as client:
            await scenario(client)

    asyncio.run(main(lambda transport: LeanClient(transport, timeout)))
    asyncio.run(main(lambda transport: httpx.AsyncClient(transport=transport, timeout=timeout)))


def test_a_kept_connection_carries_the_next_request_and_the_request_is_sent_whole():
    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([OK, OK]) as server:
            first = await client.post(server.url(), json={"text": "Dạ"}, headers={"access_token": "t"})
            second = await client.post(server.url(), json={"text": "x"})
            assert (first.status_code, first.json(), second.json()) == (200, {"error": 0}, {"error": 0})
            assert server.connections == 1
            head, body = server.requests[0].split(b"\r\n\r\n")
            assert head.startswith(b"POST /v3.0/oa/message/cs HTTP/1.1\r\n")
            assert head.lower().count(b"content-length") == 1 and f"content-length: {len(body)}".encode() in head.lower()
            assert b"access_token: t" in head and body.decode() == '{"text":"Dạ"}'

    run(scenario)


def test_a_chunked_answer_is_joined():
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4;ext=1\r\n{\"a\"\r\n4\r\n: 1}\r\n0\r\nX-Trailer: 1\r\n\r\n")

    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([chunked, OK]) as server:
            assert (await client.post(server.url(), json={})).json() == {"a": 1}
            assert (await client.post(server.url(), json={})).json() == {"error": 0}
            assert server.connections == 1

    run(scenario)


def test_an_answer_that_ends_with_the_connection_is_read_whole_and_the_next_request_opens_a_new_one():
    until_close = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n\r\nbusy, try later"

    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([until_close, OK]) as server:
            first = await client.post(server.url(), json={})
            assert (first.status_code, first.text, first.headers["retry-after"]) == (503, "busy, try later", "7")
            assert (await client.post(server.url(), json={})).status_code == 200
            assert server.connections == 2

    run(scenario)


def test_connection_close_is_honoured():
    closing = OK.replace(b"Content-Length", b"Connection: close\r\nContent-Length")

    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([closing, OK]) as server:
            await client.post(server.url(), json={})
            await client.post(server.url(), json={})
            assert server.connections == 2

    run(scenario)


def test_a_connection_the_server_closed_while_idle_is_not_used_again():
    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([OK, OK]) as server:
            await client.post(server.url(), json={})
            server.writers[0].close()  # as a server's idle timeout would
            await asyncio.sleep(0.05)
            assert (await client.post(server.url(), json={})).status_code == 200
            assert server.connections == 2

    run(scenario)


def test_informational_answers_are_skipped_and_gzip_is_decoded():
    packed = gzip.compress(b'{"error":0,"data":{"message_id":"m1"}}')
    answer = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
              b"Content-Length: %d\r\n\r\n" % len(packed) + packed)

    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([answer]) as server:
            assert (await client.post(server.url(), json={})).json()["data"] == {"message_id": "m1"}

    run(scenario)


@pytest.mark.parametrize("answer", [None, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 50\r\n\r\n{\"cut", b"SMTP ready\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
                         ids=["closed without answer", "cut in the body", "not http", "bad length"])
def test_a_broken_answer_is_a_transient_send_error(answer):
    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([answer]) as server:
            with pytest.raises(SendError) as failed:
                await request(client, "POST", server.url(), json={})
            assert failed.value.transient and "connection failed" in failed.value.reason

    run(scenario)


def test_no_answer_within_the_timeout_is_a_timeout():
    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([OK], delay=1.0) as server:
            with pytest.raises(httpx.ReadTimeout):
                await client.post(server.url(), json={})
            with pytest.raises(SendError) as failed:
                await request(client, "POST", server.url(), json={})
            assert failed.value.transient and failed.value.reason.startswith("timeout")

    run(scenario, timeout=0.2)


def test_a_refused_connection_is_a_connect_error():
    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([]) as server:
            url = server.url()
        with pytest.raises(httpx.ConnectError):
            await client.post(url, json={})

    run(scenario)


def test_no_more_connections_than_the_limit():
    async def scenario(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([OK] * 20, delay=0.02) as server:
            answers = await asyncio.gather(*(client.post(server.url(), json={}) for _ in range(20)))
            assert [a.status_code for a in answers] == [200] * 20
            assert server.connections == 3

    run(scenario, connections=3)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS test")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_https_is_verified_against_the_trusted_authorities(certificate):
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def trusting(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([OK, OK], tls=server_tls) as server:
            assert (await client.post(server.url(scheme="https"), json={})).json() == {"error": 0}
            assert (await client.post(server.url(scheme="https"), json={})).json() == {"error": 0}
            assert server.connections == 1

    async def default(client: httpx.AsyncClient) -> None:
        async with ScriptedServer([OK], tls=server_tls) as server:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.post(server.url(scheme="https"), json={})

    run(trusting, tls=ssl.create_default_context(cafile=str(cert)))
    run(default)
