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
        Index("ix_inbox_chat_status", "platform", "chat_id", "status", "id"),
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
    decision: str | None = Field(default=None, index=True)  # answer | suggest | escalate | ignore | smalltalk | command | ...
    faq_id: str | None = None
    received_at: datetime = _time()
    processed_at: datetime | None = _optional_time()
    error: str | None = None


class OutboxMessage(SQLModel, table=True):
    """A reply waiting for delivery, delivered, or failed for good (kept with its error)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat_status", "platform", "chat_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int | None = Field(default=None, index=True)
    platform: str
    chat_id: str = Field(index=True)
    chat_kind: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    mention_user_id: str | None = None
    reply_to: str | None = None
    purpose: str = "reply"  # reply | notify | notify-fallback | relay | reminder
    escalation_id: int | None = Field(default=None, index=True)
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


class Team(SQLModel, table=True):
    """A village's community digital technology team (tổ CNSCĐ)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    commune: str | None = None
    created_at: datetime = _time()


class User(SQLModel, table=True):
    """A person of the teams or an admin; platform ids let the bot reach them in private chat."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str  # admin | leader | member
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    zalo_id: str | None = Field(default=None, index=True)
    facebook_id: str | None = Field(default=None, index=True)
    password_hash: str | None = None
    on_duty: bool = True
    created_at: datetime = _time()


class ChatLink(SQLModel, table=True):
    """A village chat linked to its team; a `staff` chat is the team's own group for fallbacks."""

    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    team_id: int = Field(foreign_key="team.id", index=True)
    staff: bool = False
    created_at: datetime = _time()


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
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    status: str = Field(default="open", index=True)  # open | claimed | answered | closed
    bot_answer: str | None = None  # the entry the bot answered with, when the asker said it was wrong
    thread: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # follow-ups while open
    claimed_by: int | None = Field(default=None, foreign_key="user.id")
    claimed_at: datetime | None = _optional_time()
    answer: str | None = Field(default=None, sa_column=Column(Text))
    answered_by: int | None = Field(default=None, foreign_key="user.id")
    answered_by_name: str | None = None
    answered_at: datetime | None = _optional_time()
    faq_id: str | None = None  # the entry a member linked the answer to (`#12 = faq-id`)
    reminders_sent: int = 0
    leader_told: bool = False
    last_reminded_at: datetime | None = _optional_time()
    created_at: datetime = _time()


class LastAnswer(SQLModel, table=True):
    """The bot's last FAQ answer to one person in one chat, for "sai rồi" feedback."""

    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    user_id: str
    faq_id: str
    question: str = Field(sa_column=Column(Text, nullable=False))
    answered_at: datetime = _time()


class ApiToken(SQLModel, table=True):
    """A token for scripts (`Authorization: Bearer`); only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    token_hash: str = Field(unique=True)
    role: str
    team_id: int | None = Field(default=None, foreign_key="team.id")
    created_at: datetime = _time()
    last_used_at: datetime | None = _optional_time()


class WebSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds a random token, the table its SHA-256 and CSRF secret."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf: str
    created_at: datetime = _time()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))


class LoginFailure(SQLModel, table=True):
    """Failed logins per key (user name and address) in the current window, for rate limiting."""

    key: str = Field(primary_key=True)
    count: int = 0
    window_start: datetime = _time()


class PrivacyWarning(SQLModel, table=True):
    """When the bot last warned a group not to post personal numbers (at most once an hour per chat)."""

    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    warned_at: datetime = _time()
