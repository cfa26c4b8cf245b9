"""Echoes of what was sent from the bot's own account, and other non-messages: never answered."""

from __future__ import annotations

from bot.engine import Context
from bot.messages import IncomingMessage, OutgoingMessage

SILENT_EVENTS = {"echo", "unfollow", "standby"}


class EchoHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        # Another app or a person holds a `standby` thread; our own sends come back as echoes.
        return [] if message.event in SILENT_EVENTS else None
