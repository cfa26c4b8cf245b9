"""The bot core's state: conversations, the durable inbox and outbox, platform tokens, escalations."""

from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from knowledge.models import utcnow


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _optional_time():
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=True)


def _time(index: bool = False):
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=index)


class PendingChoice(SQLModel, table=True):
    """The numbered suggestions last offered to one person in one chat."""

    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    user_id: str
    options: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class InboxMessage(SQLModel, table=True):
    """A received message; (platform, message_id) is unique, so a platform's retry is a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "message_id"),
        Index("ix_inbox_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    message_id: str
    chat_id: str
    chat_kind: str
    sender_id: str
    sender_name: str | None = None
    event: str = "message"
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "new"  # new | done | failed
    attempts: int = 0
    lease_until: datetime | None = _optional_time()
    received_at: datetime = _time()
    processed_at: datetime | None = _optional_time()
    error: str | None = None


class OutboxMessage(SQLModel, table=True):
    """A reply waiting for delivery, delivered, or failed for good (kept with its error)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int | None = Field(default=None, index=True)
    platform: str
    chat_id: str = Field(index=True)
    chat_kind: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    mention_user_id: str | None = None
    reply_to: str | None = None
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _time()
    lease_until: datetime | None = _optional_time()
    created_at: datetime = _time(index=True)
    sent_at: datetime | None = _optional_time()
    last_error: str | None = None
    platform_message_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class PlatformToken(SQLModel, table=True):
    """A platform's current access and refresh token (Zalo OA rotates both on every refresh)."""

    platform: str = Field(primary_key=True)
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = _optional_time()
    updated_at: datetime = _time()
    generation: int = 0


class Escalation(SQLModel, table=True):
    """A question the FAQ could not answer, handed to the village team; `id` is the `#number`."""

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    chat_kind: str
    asker_id: str
    asker_name: str | None = None
    message_id: str
    question: str = Field(sa_column=Column(Text, nullable=False))
    guesses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", index=True)  # open | claimed | answered | closed
    created_at: datetime = _time()
