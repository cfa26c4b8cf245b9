"""Answers from the FAQ: a confident answer, numbered suggestions, or a hand-off notice."""

from __future__ import annotations

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from handlers.choice import remember_choices


class FaqHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if not message.text.strip() and message.attachments:
            return None
        outcome = ctx.knowledge.ask(message.text, group=message.is_group, mentioned=message.mentions_bot)
        if outcome.decision.kind == "suggest":
            remember_choices(ctx, message, outcome.decision.suggestions)
        if outcome.reply is None:
            return []
        return [reply(message, outcome.reply)]
