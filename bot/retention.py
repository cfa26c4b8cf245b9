"""Conversations are kept for `retention_days`, then deleted; open work and the FAQ are never touched."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from bot.settings import Settings
from bot.tables import (Escalation, InboxMessage, LastAnswer, LoginFailure, OutboxMessage, PendingChoice,
                        PrivacyWarning, WebSession)

FINISHED_INBOX = ("done", "failed")
FINISHED_OUTBOX = ("sent", "failed")
FINISHED_ESCALATIONS = ("answered", "closed")


def purge(session: Session, now: datetime, settings: Settings) -> dict[str, int]:
    """Delete what is older than the retention; returns the rows deleted per kind. The caller commits."""
    cutoff = now - timedelta(days=settings.retention_days)
    old_escalation = (Escalation.status.in_(FINISHED_ESCALATIONS), Escalation.created_at < cutoff,
                      or_(Escalation.answered_at.is_(None), Escalation.answered_at < cutoff))
    return {
        "inbox": _delete(session, InboxMessage, InboxMessage.status.in_(FINISHED_INBOX),
                         InboxMessage.received_at < cutoff),
        "outbox": _delete(session, OutboxMessage, OutboxMessage.status.in_(FINISHED_OUTBOX),
                          OutboxMessage.created_at < cutoff),
        "escalations": _delete(session, Escalation, *old_escalation),
        "pending_choices": _delete(session, PendingChoice, PendingChoice.created_at < cutoff),
        "last_answers": _delete(session, LastAnswer, LastAnswer.answered_at < cutoff),
        "privacy_warnings": _delete(session, PrivacyWarning, PrivacyWarning.warned_at < cutoff),
        "web_sessions": _delete(session, WebSession, WebSession.expires_at < now),
        "login_failures": _delete(session, LoginFailure, LoginFailure.window_start < cutoff),
    }


def _delete(session: Session, table: type, *where: ColumnElement[bool]) -> int:
    result = session.execute(delete(table).where(*where).execution_options(synchronize_session=False))
    return result.rowcount or 0
