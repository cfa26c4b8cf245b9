"""A question the FAQ cannot answer becomes an escalation for the village team (`#number`)."""

from __future__ import annotations

from bot.engine import Context
from bot.messages import IncomingMessage
from bot.privacy import mask
from bot.tables import Escalation

ESCALATED = ("Dạ, câu này cháu chưa trả lời chắc chắn được. Cháu đã chuyển cho tổ công nghệ số cộng đồng "
             "của thôn (mã #{number}), các anh chị trong tổ sẽ trả lời bác sớm ạ.")


def open_escalation(ctx: Context, message: IncomingMessage, guesses: list[str]) -> Escalation:
    """Record the question (personal numbers masked) with the bot's best guesses."""
    row = Escalation(
        platform=message.platform, chat_id=message.chat_id, chat_kind=message.chat_kind.value,
        asker_id=message.sender_id, asker_name=message.sender_name, message_id=message.message_id,
        question=mask(message.text), guesses=guesses, created_at=ctx.now,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row
