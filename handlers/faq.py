"""Answers from the FAQ: a confident answer, numbered suggestions, or a hand-off notice."""

from __future__ import annotations

from sqlmodel import select

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from bot.tables import PendingChoice


def remember_choices(ctx: Context, message: IncomingMessage, options: list[str]) -> None:
    """Keep the offered entries so that a number reply can pick one (one row per person)."""
    row = ctx.session.exec(
        select(PendingChoice).where(
            PendingChoice.platform == message.platform,
            PendingChoice.chat_id == message.chat_id,
            PendingChoice.user_id == message.sender_id,
        )
    ).first() or PendingChoice(platform=message.platform, chat_id=message.chat_id, user_id=message.sender_id,
                               options=[])
    row.options = options
    row.created_at = ctx.now
    ctx.session.add(row)


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
