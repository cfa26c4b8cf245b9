"""Answers from the FAQ: a confident answer, numbered suggestions, or a hand-off to the team."""

from __future__ import annotations

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from handlers.choice import remember_choices
from handlers.escalation import ESCALATED, open_escalation


class FaqHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if not message.text.strip() and message.attachments:
            return None
        outcome = ctx.knowledge.ask(message.text, group=message.is_group, mentioned=message.mentions_bot)
        decision = outcome.decision
        if decision.kind == "suggest":
            remember_choices(ctx, message, decision.suggestions)
        if decision.kind == "escalate":
            guesses = [c.faq_id for c in outcome.result.candidates[:3]]
            escalation = open_escalation(ctx, message, guesses)
            return [reply(message, ESCALATED.format(number=escalation.id))]
        if outcome.reply is None:
            return []
        return [reply(message, outcome.reply)]
