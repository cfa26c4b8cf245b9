"""Storage of the FAQ: entries, their revision history, the teencode dictionary."""

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class FaqEntry(SQLModel, table=True):
    """One FAQ entry; `alternates` are the other ways people ask the same thing."""

    id: str = Field(primary_key=True, max_length=120)
    category: str = Field(default="", index=True)
    question: str
    alternates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    source_url: str | None = None
    reviewed_at: date | None = None
    active: bool = Field(default=True, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class FaqRevision(SQLModel, table=True):
    """A snapshot of an entry after each change: who, when, what."""

    id: int | None = Field(default=None, primary_key=True)
    faq_id: str = Field(index=True)
    author: str
    action: str  # created | updated | deactivated | imported
    snapshot: dict = Field(sa_column=Column(JSON, nullable=False))
    changed_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class LexiconRow(SQLModel, table=True):
    """An admin's teencode or synonym row, on top of the shipped dictionary: `term` reads as `expansion`."""

    term: str = Field(primary_key=True, max_length=60)
    expansion: str
    at_end: str | None = None
    keep: bool = False


class KnowledgeState(SQLModel, table=True):
    """One row: a version bumped on every FAQ change, so matchers know to rebuild."""

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    seeded_at: datetime | None = None


class FaqSuggestion(SQLModel, table=True):
    """A proposed FAQ change learnt from a person's answer: a new entry, or a new phrasing of `faq_id`."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # new | phrasing
    question: str = Field(sa_column=Column(Text, nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(Text))
    faq_id: str | None = None
    source: str = ""  # e.g. "escalation #12"
    author: str = ""
    status: str = Field(default="pending", index=True)  # pending | accepted | rejected
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by: str | None = None
