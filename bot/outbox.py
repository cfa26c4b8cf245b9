"""The durable outbox: replies written with their inbox row, claimed for delivery, closed once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.engine import Row
from sqlmodel import Session, select

from bot import claims
from bot.bulk import RowInsert, RowUpdate
from bot.messages import ChatKind, OutgoingMessage
from bot.platforms.text import split_text
from bot.tables import OutboxMessage


# Every platform cuts at 2,000 characters; the margin leaves room for a group mention prefix.
PART_LIMIT = 1950


def enqueue(session: Session, out: OutgoingMessage, now: datetime, inbox_id: int | None = None) -> list[Row]:
    """Store one reply; returns its rows (a long reply is several parts), ids included."""
    return session.connection().execute(_insert_returning(), parts(out, now, inbox_id)).all()


def store(session: Session, rows: list[dict]) -> None:
    """Store the parts of many replies in one statement (the worker's hot path). Core, not ORM objects:
    building a SQLModel object per reply cost more CPU than storing it."""
    _STORE.run(session, rows)


def parts(out: OutgoingMessage, now: datetime, inbox_id: int | None = None) -> list[dict]:
    """One row per part of a long reply, so a retry never sends a part twice. Every column is given:
    a Core insert applies none of the model's defaults."""
    return [dict(inbox_id=inbox_id, platform=out.platform, chat_id=out.chat_id, chat_kind=out.chat_kind.value,
                 text=part, mention_user_id=out.mention_user_id if number == 0 else None,
                 reply_to=out.reply_to if number == 0 else None, purpose=out.meta.get("purpose", "reply"),
                 escalation_id=out.meta.get("escalation_id"), status="pending", attempts=0, next_attempt_at=now,
                 lease_until=None, created_at=now, sent_at=None, last_error=None, platform_message_ids=[])
            for number, part in enumerate(split_text(out.text, PART_LIMIT))]


_STORE = RowInsert(OutboxMessage.__table__, columns=tuple(c.name for c in OutboxMessage.__table__.columns
                                                           if c.name != "id"))


@cache
def _insert_returning():
    table = OutboxMessage.__table__
    return insert(table).returning(*table.c, sort_by_parameter_order=True)


def to_message(row: Row | OutboxMessage) -> OutgoingMessage:
    return OutgoingMessage(platform=row.platform, chat_id=row.chat_id, chat_kind=ChatKind(row.chat_kind),
                           text=row.text, mention_user_id=row.mention_user_id, reply_to=row.reply_to,
                           meta={"purpose": row.purpose, "escalation_id": row.escalation_id})


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[Row]:
    """Lease the oldest pending reply of each chat, when due and not leased (a chat's replies keep their order)."""
    return claims.claim(session, _claim_statement(), now, lease, limit)


@cache
def _claim_statement():
    table = OutboxMessage.__table__
    return claims.claim_statement(table, "pending", table.c.next_attempt_at <= bindparam("now"))


def mark_sent(session: Session, row: Row | OutboxMessage, now: datetime, platform_ids: tuple[str, ...]) -> None:
    mark_all_sent(session, [(row, platform_ids)], now)


def mark_all_sent(session: Session, sent: Sequence[tuple[Row | OutboxMessage, tuple[str, ...]]],
                  now: datetime) -> None:
    """Close delivered rows in one round trip: the sender marks what finished meanwhile together."""
    _SENT.run(session, [{"row_id": row.id, "status": "sent", "sent_at": now, "platform_message_ids": list(ids),
                         "last_error": None, "lease_until": None} for row, ids in sent])


_SENT = RowUpdate(OutboxMessage.__table__, match=(("id", "row_id"),),
                  columns=("status", "sent_at", "platform_message_ids", "last_error", "lease_until"))


def retry_later(session: Session, row: Row | OutboxMessage, at: datetime, error: str) -> None:
    _set(session, row, next_attempt_at=at, last_error=error[:1000])


def mark_failed(session: Session, row: Row | OutboxMessage, error: str) -> None:
    _set(session, row, status="failed", last_error=error[:1000])


def _set(session: Session, row: Row | OutboxMessage, **values: object) -> None:
    table = OutboxMessage.__table__
    session.connection().execute(update(table).where(table.c.id == row.id).values(lease_until=None, **values))


def recent_in_chat(session: Session, platform: str, chat_id: str, since: datetime) -> list[OutboxMessage]:
    """Replies to one chat written since a moment (for repeat checks and the per-chat rate limit)."""
    return list(session.exec(
        select(OutboxMessage).where(OutboxMessage.platform == platform, OutboxMessage.chat_id == chat_id,
                                    OutboxMessage.created_at >= since, OutboxMessage.status != "failed")
    ).all())


def counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: n for status, n in rows}
