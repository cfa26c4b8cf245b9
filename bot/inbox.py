"""The durable inbox: record deliveries once, claim rows under a lease, close them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bot.messages import Attachment, ChatKind, IncomingMessage
from bot.privacy import mask
from bot.tables import InboxMessage


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert


def record(session: Session, messages: Iterable[IncomingMessage], now: datetime) -> int:
    """Store new messages; one already stored (a platform's retry) is left alone. Returns how many were new."""
    rows = [_row(m, now) for m in messages]
    if not rows:
        return 0
    statement = _insert(session)(InboxMessage).values(rows).on_conflict_do_nothing(
        index_elements=["platform", "message_id"]
    ).returning(InboxMessage.id)
    return len(session.execute(statement).all())  # rowcount is not reliable for multi-row inserts on psycopg


def _row(m: IncomingMessage, now: datetime) -> dict:
    details = {
        "attachments": [[a.kind, a.url] for a in m.attachments],
        "mentions_bot": m.mentions_bot,
        "reply_to": m.reply_to,
        "from_human": m.from_human,
    }
    return dict(platform=m.platform, message_id=m.message_id, chat_id=m.chat_id, chat_kind=m.chat_kind.value,
                sender_id=m.sender_id, sender_name=m.sender_name, event=m.event, text=m.text, details=details,
                status="new", attempts=0, received_at=now)


def to_message(row: InboxMessage) -> IncomingMessage:
    d = row.details or {}
    return IncomingMessage(
        platform=row.platform, chat_id=row.chat_id, chat_kind=ChatKind(row.chat_kind), sender_id=row.sender_id,
        message_id=row.message_id, text=row.text, sender_name=row.sender_name,
        attachments=tuple(Attachment(kind, url) for kind, url in d.get("attachments", [])),
        mentions_bot=bool(d.get("mentions_bot")), reply_to=d.get("reply_to"), event=row.event,
        from_human=bool(d.get("from_human")),
    )


def claim(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[InboxMessage]:
    """Take the oldest unfinished row of each chat not leased by someone else (so a chat keeps its order)."""
    earlier = aliased(InboxMessage)
    first_of_chat = ~exists().where(earlier.platform == InboxMessage.platform, earlier.chat_id == InboxMessage.chat_id,
                                    earlier.status == "new", earlier.id < InboxMessage.id)
    free = or_(InboxMessage.lease_until.is_(None), InboxMessage.lease_until < now)
    waiting = session.exec(select(InboxMessage).where(InboxMessage.status == "new", first_of_chat, free)
                           .order_by(InboxMessage.id).limit(limit)).all()
    claimed = [row for row in waiting if _take(session, row, now, lease)]
    session.commit()
    return claimed


def _take(session: Session, row: InboxMessage, now: datetime, lease: timedelta) -> bool:
    taken = session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == row.id, InboxMessage.status == "new",
               or_(InboxMessage.lease_until.is_(None), InboxMessage.lease_until < now))
        .values(lease_until=now + lease, attempts=InboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        row.attempts += 1
    return bool(taken)


def finish(session: Session, row: InboxMessage, now: datetime) -> None:
    """Mark a row done; the stored transcript keeps no personal numbers from here on."""
    row.status = "done"
    row.processed_at = now
    row.lease_until = None
    row.text = mask(row.text)
    session.add(row)


def give_up(session: Session, row: InboxMessage, now: datetime, error: str) -> None:
    row.status = "failed"
    row.error = error[:1000]
    row.processed_at = now
    row.text = mask(row.text)
    session.add(row)
