"""The durable outbox: replies written with their inbox row, claimed for delivery, closed once."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, select

from bot import claims
from bot.messages import ChatKind, OutgoingMessage
from bot.platforms.text import split_text
from bot.tables import OutboxMessage


# Every platform cuts at 2,000 characters; the margin leaves room for a group mention prefix.
PART_LIMIT = 1950


def enqueue(session: Session, out: OutgoingMessage, now: datetime, inbox_id: int | None = None) -> list[OutboxMessage]:
    """One row per part of a long reply, so a retry never sends a part twice."""
    rows = [
        OutboxMessage(inbox_id=inbox_id, platform=out.platform, chat_id=out.chat_id, chat_kind=out.chat_kind.value,
                      text=part, mention_user_id=out.mention_user_id if number == 0 else None,
                      reply_to=out.reply_to if number == 0 else None, next_attempt_at=now, created_at=now,
                      purpose=out.meta.get("purpose", "reply"), escalation_id=out.meta.get("escalation_id"))
        for number, part in enumerate(split_text(out.text, PART_LIMIT))
    ]
    session.add_all(rows)
    return rows


def to_message(row: OutboxMessage) -> OutgoingMessage:
    return OutgoingMessage(platform=row.platform, chat_id=row.chat_id, chat_kind=ChatKind(row.chat_kind),
                           text=row.text, mention_user_id=row.mention_user_id, reply_to=row.reply_to,
                           meta={"purpose": row.purpose, "escalation_id": row.escalation_id})


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[OutboxMessage]:
    """Lease the oldest pending reply of each chat, when due and not leased (a chat's replies keep their order)."""
    return claims.claim(session, OutboxMessage, _claim_statement(), now, lease, limit)


@cache
def _claim_statement():
    table = OutboxMessage.__table__
    return claims.claim_statement(table, "pending", table.c.next_attempt_at <= bindparam("now"))


def _set(session: Session, row: OutboxMessage, **values: object) -> None:
    # A Core UPDATE: the claim's lease was set the same way, so the ORM object does not know it.
    session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(lease_until=None, **values)
                    .execution_options(synchronize_session=False))
    for name, value in values.items():
        setattr(row, name, value)


def mark_sent(session: Session, row: OutboxMessage, now: datetime, platform_ids: tuple[str, ...]) -> None:
    _set(session, row, status="sent", sent_at=now, platform_message_ids=list(platform_ids), last_error=None)


def retry_later(session: Session, row: OutboxMessage, at: datetime, error: str) -> None:
    _set(session, row, next_attempt_at=at, last_error=error[:1000])


def mark_failed(session: Session, row: OutboxMessage, error: str) -> None:
    _set(session, row, status="failed", last_error=error[:1000])


def recent_in_chat(session: Session, platform: str, chat_id: str, since: datetime) -> list[OutboxMessage]:
    """Replies to one chat written since a moment (for repeat checks and the per-chat rate limit)."""
    return list(session.exec(
        select(OutboxMessage).where(OutboxMessage.platform == platform, OutboxMessage.chat_id == chat_id,
                                    OutboxMessage.created_at >= since, OutboxMessage.status != "failed")
    ).all())


def counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: n for status, n in rows}
