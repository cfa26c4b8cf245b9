"""The web chat as a platform: the page posts messages to our own routes and reads replies from the outbox."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from bot.messages import OutgoingMessage
from bot.platforms.base import Delivery, Rejected, Sent


class WebChat:
    """Delivery is the outbox row itself: the browser fetches the replies of its chat from there."""

    name = "web"
    max_text = 4000

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        raise Rejected(404, "the web chat has its own routes")

    def parse(self, payload: object) -> Delivery:
        return Delivery()

    async def send(self, client: httpx.AsyncClient, out: OutgoingMessage, access_token: str | None = None) -> Sent:
        return Sent()
