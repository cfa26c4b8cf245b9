"""Runs one incoming message through the ordered handlers (the first that answers wins)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot.messages import IncomingMessage, OutgoingMessage
from bot.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.models import utcnow


@dataclass
class Context:
    """What a handler may use: the open transaction, the FAQ snapshot, settings and the time."""

    session: Session
    knowledge: KnowledgeBase
    settings: Settings
    now: datetime = field(default_factory=utcnow)
    decision: str | None = None  # what the bot did with the message, kept for statistics
    faq_id: str | None = None
    # Whether the sender waits for the team in this private chat, when the worker looked it up for a whole
    # batch at once (handoff.waiting_in_private); None: not looked up, the handler asks.
    waiting: bool | None = None

    def note(self, decision: str, faq_id: str | None = None) -> None:
        self.decision, self.faq_id = decision, faq_id


class Handler(Protocol):
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        """Replies (possibly none) when this handler takes the message; None to pass it on."""


def reply(message: IncomingMessage, text: str) -> OutgoingMessage:
    """A reply in the same chat; in a group it is addressed to the asker."""
    return OutgoingMessage(
        platform=message.platform,
        chat_id=message.chat_id,
        chat_kind=message.chat_kind,
        text=text,
        mention_user_id=message.sender_id if message.is_group else None,
        reply_to=message.message_id,
    )


class Engine:
    def __init__(self, handlers: Sequence[Handler]) -> None:
        self.handlers = list(handlers)

    def process(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage]:
        for handler in self.handlers:
            out = handler.handle(message, ctx)
            if out is not None:
                return out
        return []
