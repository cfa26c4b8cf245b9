"""A number reply ("2", "số 2 ạ") that picks one of the suggestions offered just before."""

from __future__ import annotations

import re
from datetime import timedelta, timezone

from sqlmodel import select

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from bot.tables import PendingChoice
from handlers.feedback import remember_answer
from knowledge.normalize import fold
from knowledge.replies import CHOICE_GONE

NUMBER_REPLY = re.compile(r"^\s*(?:(?:so|cau|cai|chon|muc|y)\s*)?(\d{1,2})\s*(?:a|ah|nhe|nha|ak)?\s*[.!)]*\s*$")


def pending_choice(ctx: Context, message: IncomingMessage) -> PendingChoice | None:
    """The suggestions last offered to this person in this chat, if any."""
    return ctx.session.exec(
        select(PendingChoice).where(
            PendingChoice.platform == message.platform,
            PendingChoice.chat_id == message.chat_id,
            PendingChoice.user_id == message.sender_id,
        )
    ).first()


def remember_choices(ctx: Context, message: IncomingMessage, options: list[str]) -> None:
    """Keep the offered entries so that a number reply can pick one (one row per person)."""
    row = pending_choice(ctx, message) or PendingChoice(
        platform=message.platform, chat_id=message.chat_id, user_id=message.sender_id, options=[]
    )
    row.options = options
    row.created_at = ctx.now
    ctx.session.add(row)


def picked_number(text: str) -> int | None:
    match = NUMBER_REPLY.match(fold(text.lower()))
    return int(match.group(1)) if match else None


class ChoiceHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        number = picked_number(message.text)
        if number is None:
            return None
        pending = pending_choice(ctx, message)
        if pending is None:
            return None
        created = pending.created_at if pending.created_at.tzinfo else pending.created_at.replace(tzinfo=timezone.utc)
        if ctx.now - created > timedelta(minutes=ctx.settings.choice_ttl_minutes):
            ctx.session.delete(pending)
            return None
        if not 1 <= number <= len(pending.options):
            choices = ", ".join(str(i) for i in range(1, len(pending.options) + 1))
            return [reply(message, f"Dạ, bác chọn một trong các số {choices} giúp cháu nhé.")]
        faq_id = pending.options[number - 1]
        ctx.session.delete(pending)
        if faq_id not in ctx.knowledge.entries:
            return [reply(message, CHOICE_GONE)]
        remember_answer(ctx, message, faq_id)
        ctx.note("answer", faq_id)
        return [reply(message, ctx.knowledge.answer_for(faq_id))]
