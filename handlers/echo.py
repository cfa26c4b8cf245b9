"""Echoes of what was sent from the bot's account never trigger it; a person's reply there answers the wait."""

from __future__ import annotations

from bot import handoff
from bot.engine import Context
from bot.messages import IncomingMessage, OutgoingMessage

SILENT_EVENTS = {"echo", "unfollow", "standby"}


class EchoHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if message.event not in SILENT_EVENTS:
            return None
        # Our own sends come back as echoes; another app or a person holds a `standby` thread.
        if message.event == "echo" and message.from_human and message.text.strip():
            handoff.close_by_echo(ctx.session, message.platform, message.chat_id, message.text, ctx.now)
        return []
