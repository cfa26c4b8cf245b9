"""An httpx client over MockTransport for the adapters' unit tests."""

from __future__ import annotations

import httpx


def mock_client(*replies) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose calls get `replies` in turn (a Response, or an exception to raise); calls are recorded."""
    calls: list[httpx.Request] = []
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), calls
