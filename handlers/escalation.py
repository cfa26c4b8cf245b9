"""A question the FAQ cannot answer goes to the village team; the asker is told its `#number`."""

from __future__ import annotations

from bot import handoff
from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage

ESCALATED = ("Dạ, câu này cháu chưa trả lời chắc chắn được. Cháu đã chuyển cho tổ công nghệ số cộng đồng "
             "của thôn (mã #{number}), các anh chị trong tổ sẽ trả lời bác sớm ạ.")


def hand_off(ctx: Context, message: IncomingMessage, guesses: list[str],
             bot_answer: str | None = None) -> list[OutgoingMessage]:
    """Open an escalation: one short message to the asker, and the team notified in private."""
    escalation, notices = handoff.escalate(ctx.session, message, guesses, ctx.now, ctx.knowledge.question,
                                           bot_answer)
    return [reply(message, ESCALATED.format(number=escalation.id)), *notices]
