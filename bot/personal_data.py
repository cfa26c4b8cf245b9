"""One person's data: everything stored about a platform account, to export it or to forget it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, SQLModel, select

from bot.messages import ChatKind
from bot.tables import (ChatLink, Escalation, InboxMessage, LastAnswer, OutboxMessage, PendingChoice, User,
                        WebSession, aware)

FORGOTTEN = "forgotten"
ERASED = "(đã xoá theo yêu cầu)"
OPEN_ESCALATIONS = ("open", "claimed")
SECRET_FIELDS = {"password_hash", "token_hash", "csrf"}


@dataclass
class Footprint:
    """The rows that hold one person's data; `user` when the account belongs to a team member."""

    user: User | None
    inbox: list[InboxMessage]
    outbox: list[OutboxMessage]
    escalations: list[Escalation]
    pending_choices: list[PendingChoice]
    last_answers: list[LastAnswer]
    chat_links: list[ChatLink]
    web_sessions: list[WebSession]

    def is_empty(self) -> bool:
        return all(not getattr(self, f.name) for f in fields(self))


def find(session: Session, platform: str, person_id: str) -> Footprint:
    inbox = list(session.exec(select(InboxMessage).where(InboxMessage.platform == platform,
                                                         InboxMessage.sender_id == person_id)
                              .order_by(InboxMessage.id)).all())
    private_chats = {person_id} | {r.chat_id for r in inbox if r.chat_kind == ChatKind.PRIVATE}
    escalations = list(session.exec(select(Escalation).where(Escalation.platform == platform,
                                                             Escalation.asker_id == person_id)
                                    .order_by(Escalation.id)).all())
    user = _user(session, platform, person_id)
    return Footprint(
        user=user,
        inbox=inbox,
        outbox=_outbox(session, platform, person_id, private_chats, [r.id for r in inbox], [e.id for e in escalations]),
        escalations=escalations,
        pending_choices=list(session.exec(select(PendingChoice).where(
            PendingChoice.platform == platform, PendingChoice.user_id == person_id)).all()),
        last_answers=list(session.exec(select(LastAnswer).where(
            LastAnswer.platform == platform, LastAnswer.user_id == person_id)).all()),
        chat_links=list(session.exec(select(ChatLink).where(
            ChatLink.platform == platform, ChatLink.chat_id.in_(private_chats))).all()),
        web_sessions=list(session.exec(select(WebSession).where(WebSession.user_id == user.id)).all()) if user else [],
    )


def _user(session: Session, platform: str, person_id: str) -> User | None:
    column = {"facebook": User.facebook_id, "zalo": User.zalo_id, "zalo-bot": User.zalo_id}.get(platform)
    return session.exec(select(User).where(column == person_id)).first() if column is not None else None


def _outbox(session: Session, platform: str, person_id: str, private_chats: set[str], inbox_ids: list[int | None],
            escalation_ids: list[int | None]) -> list[OutboxMessage]:
    """Replies to their messages, mentions of them, their private chats, and what was sent about their questions.

    A member's answer relayed to a villager is the villager's (it is found by the villager's escalation)."""
    o = OutboxMessage
    replies = and_(o.inbox_id.in_(inbox_ids), o.purpose != "relay")
    in_private = and_(o.chat_kind == ChatKind.PRIVATE.value, o.chat_id.in_(private_chats))
    theirs = and_(o.platform == platform, or_(replies, o.mention_user_id == person_id, in_private))
    return list(session.exec(select(o).where(or_(theirs, o.escalation_id.in_(escalation_ids))).order_by(o.id)).all())


def export(footprint: Footprint) -> dict:
    """A JSON-ready document of everything in the footprint (password and session secrets left out)."""
    user = _plain(footprint.user) if footprint.user else None
    if user is not None:
        user["has_password"] = footprint.user.password_hash is not None
    return {"user": user, **{f.name: [_plain(row) for row in getattr(footprint, f.name)]
                             for f in fields(footprint) if f.name != "user"}}


def _plain(row: SQLModel) -> dict:
    return {name: _json_value(value) for name, value in row.model_dump().items() if name not in SECRET_FIELDS}


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return aware(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def forget(session: Session, footprint: Footprint) -> dict[str, int]:
    """Delete the person's rows; rows that statistics count are kept without anything that points to them."""
    removed = {"inbox_deleted": 0, "inbox_anonymised": 0, "escalations_deleted": 0, "escalations_anonymised": 0}
    for row in footprint.inbox:
        if row.status == "new":
            session.delete(row)
            removed["inbox_deleted"] += 1
        else:
            _anonymise_inbox(session, row)
            removed["inbox_anonymised"] += 1
    for esc in footprint.escalations:
        if esc.status in OPEN_ESCALATIONS:
            session.delete(esc)
            removed["escalations_deleted"] += 1
        else:
            _anonymise_escalation(session, esc)
            removed["escalations_anonymised"] += 1
    for name in ("outbox", "pending_choices", "last_answers", "chat_links", "web_sessions"):
        for row in getattr(footprint, name):
            session.delete(row)
        removed[f"{name}_deleted"] = len(getattr(footprint, name))
    if footprint.user is not None:
        _anonymise_user(session, footprint.user)
    removed["user_anonymised"] = int(footprint.user is not None)
    return removed


def _anonymise_inbox(session: Session, row: InboxMessage) -> None:
    private = row.chat_kind == ChatKind.PRIVATE
    row.sender_id, row.sender_name, row.text, row.details, row.error = FORGOTTEN, None, "", {}, None
    row.message_id = f"{FORGOTTEN}-{row.id}"
    row.chat_id = FORGOTTEN if private else row.chat_id
    session.add(row)


def _anonymise_escalation(session: Session, esc: Escalation) -> None:
    """An answered question stays for the answer-time statistics, without the asker, the question or the answer."""
    private = esc.chat_kind == ChatKind.PRIVATE
    esc.asker_id, esc.asker_name, esc.message_id = FORGOTTEN, None, ""
    esc.question, esc.thread = ERASED, []
    esc.answer = ERASED if esc.answer is not None else None
    esc.chat_id = FORGOTTEN if private else esc.chat_id
    session.add(esc)


def _anonymise_user(session: Session, user: User) -> None:
    """A team member's record stays (escalations point to it) but no longer names or reaches the person."""
    name = f"(đã xoá #{user.id})"
    for esc in session.exec(select(Escalation).where(or_(Escalation.answered_by == user.id,
                                                         Escalation.claimed_by == user.id))).all():
        if esc.answered_by == user.id:
            esc.answered_by_name = name
        if esc.status == "claimed" and esc.claimed_by == user.id:
            esc.status, esc.claimed_by, esc.claimed_at = "open", None, None
        session.add(esc)
    user.name, user.zalo_id, user.facebook_id, user.password_hash, user.on_duty = name, None, None, None, False
    session.add(user)
