"""Answers from the FAQ: a confident answer, numbered suggestions, or a hand-off to the team."""

from __future__ import annotations

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from handlers.choice import remember_choices
from handlers.escalation import hand_off
from handlers.feedback import remember_answer


class FaqHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if not message.text.strip() and message.attachments:
            return None
        outcome = ctx.knowledge.ask(message.text, group=message.is_group, mentioned=message.mentions_bot)
        decision = outcome.decision
        ctx.note(decision.kind, decision.faq_id)
        if decision.kind == "suggest":
            remember_choices(ctx, message, decision.suggestions)
        if decision.kind == "answer" and decision.faq_id:
            remember_answer(ctx, message, decision.faq_id)
        if decision.kind == "escalate":
            if decision.offers:
                remember_choices(ctx, message, decision.offers)
            return hand_off(ctx, message, [c.faq_id for c in outcome.result.candidates[:3]], offers=decision.offers)
        if outcome.reply is None:
            return []
        return [reply(message, outcome.reply)]
