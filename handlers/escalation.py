"""A question the FAQ cannot answer goes to the village team; the asker is told its `#number`."""

from __future__ import annotations

from bot import handoff
from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from knowledge.replies import escalation_text


def hand_off(ctx: Context, message: IncomingMessage, guesses: list[str],
             bot_answer: str | None = None, offers: list[str] | None = None) -> list[OutgoingMessage]:
    """Open an escalation: one short message to the asker (with `offers`, entries to pick by number while the
    team answers), and the team notified in private."""
    escalation, notices = handoff.escalate(ctx.session, message, guesses, ctx.now, ctx.knowledge.question,
                                           bot_answer)
    text = escalation_text([ctx.knowledge.question(o) for o in offers or []], escalation.id)
    return [reply(message, text), *notices]
