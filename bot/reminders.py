"""Reminders for unclaimed escalations: on-duty members first, then the leader; never in quiet hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, select

from bot import handoff
from bot.messages import OutgoingMessage
from bot.settings import Settings
from bot.tables import Escalation, Team, aware

MEMBERS = "Nhắc việc: câu hỏi #{id} đã chờ {minutes} phút mà chưa ai nhận.\n"
LEADER = "Báo tổ trưởng: câu hỏi #{id} đã chờ {minutes} phút mà chưa ai nhận.\n"


def in_quiet_hours(now: datetime, settings: Settings) -> bool:
    start_text, end_text = settings.quiet_hours.split("-")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    local = now.astimezone(ZoneInfo(settings.timezone)).time()
    return (start <= local or local < end) if start > end else (start <= local < end)


def due(session: Session, now: datetime, settings: Settings, question_of: Callable[[str], str]) -> list[OutgoingMessage]:
    """The reminders to send now; the escalations are updated so none is repeated, even by another worker."""
    if in_quiet_hours(now, settings):
        return []
    step = timedelta(minutes=settings.escalation_remind_minutes)
    out: list[OutgoingMessage] = []
    for esc in session.exec(select(Escalation).where(Escalation.status == "open").order_by(Escalation.id)).all():
        team = session.get(Team, esc.team_id) if esc.team_id else None
        waited = now - aware(esc.created_at)
        minutes = int(waited.total_seconds() // 60)
        if waited >= 2 * step and not esc.leader_told:
            if _note(session, esc, leader_told=True):
                out += handoff.notifications(session, esc, team, question_of, roles=("leader",),
                                             prefix=LEADER.format(id=esc.id, minutes=minutes))
        elif _member_reminder_due(esc, now, waited, step, settings):
            if _note(session, esc, reminders_sent=esc.reminders_sent + 1, last_reminded_at=now):
                out += handoff.notifications(session, esc, team, question_of,
                                             prefix=MEMBERS.format(id=esc.id, minutes=minutes))
    return [_as_reminder(m) for m in out]


def _note(session: Session, esc: Escalation, **values: object) -> bool:
    """Record a reminder on the escalation as it was read; False if another worker just did (or it was claimed).

    The row stays locked until the caller commits, so a second worker waits here and then finds it changed."""
    table = Escalation.__table__
    noted = session.connection().execute(
        update(table).where(table.c.id == esc.id, table.c.status == "open",
                            table.c.reminders_sent == esc.reminders_sent, table.c.leader_told == esc.leader_told)
        .values(**values)
    ).rowcount
    return noted == 1


def _member_reminder_due(esc: Escalation, now: datetime, waited: timedelta, step: timedelta, settings: Settings) -> bool:
    if esc.reminders_sent >= settings.escalation_max_reminders or waited < step * (esc.reminders_sent + 1):
        return False
    return esc.last_reminded_at is None or now - aware(esc.last_reminded_at) >= step


def _as_reminder(message: OutgoingMessage) -> OutgoingMessage:
    return OutgoingMessage(platform=message.platform, chat_id=message.chat_id, chat_kind=message.chat_kind,
                           text=message.text, meta={**message.meta, "purpose": "reminder"})
