"""Runs one incoming message through the ordered handlers (the first that answers wins)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from bot.messages import IncomingMessage, OutgoingMessage
from bot.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.models import utcnow


class Writer(Protocol):
    """Writes rows, all in one statement where it can (bot.bulk.RowInsert)."""

    def run(self, session: Session, rows: Sequence[dict[str, Any]]) -> None: ...


Deferred = list[tuple[Writer, dict[str, Any]]]  # writes held for the batch: (writer, row)


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
    # Writes that nothing reads back before the batch ends (a claim holds one message per chat), run by the
    # worker for the whole batch at once: one round trip instead of one per message. None: run at once.
    deferred: Deferred | None = None

    def write(self, writer: Writer, row: dict[str, Any]) -> None:
        if self.deferred is None:
            writer.run(self.session, [row])
        else:
            self.deferred.append((writer, row))

    def note(self, decision: str, faq_id: str | None = None) -> None:
        self.decision, self.faq_id = decision, faq_id


def run_deferred(session: Session, deferred: Deferred) -> None:
    """The batch's deferred writes, all the rows of a writer at once, in the order first written."""
    by_writer: dict[Writer, list[dict[str, Any]]] = {}
    for writer, row in deferred:
        by_writer.setdefault(writer, []).append(row)
    for writer, rows in by_writer.items():
        writer.run(session, rows)


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
