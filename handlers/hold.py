"""While a person's private question waits for the team, their further messages join it quietly."""

from __future__ import annotations

from bot import handoff
from bot.engine import Context
from bot.messages import IncomingMessage, OutgoingMessage
from bot.privacy import mask


class HoldHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if message.is_group or not message.text.strip() or ctx.waiting is False:
            return None
        waiting = handoff.open_in_private_chat(ctx.session, message.platform, message.chat_id, message.sender_id)
        if waiting is None:
            return None
        # A new question the FAQ answers with confidence is still answered; anything else is about the wait.
        if ctx.knowledge.ask(message.text).decision.kind == "answer":
            return None
        ctx.note("held")
        waiting.thread = [*waiting.thread, mask(message.text)][-20:]
        ctx.session.add(waiting)
        return []
