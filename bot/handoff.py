"""The hand-off to people: escalations, who is told, claims, and answers relayed into the chat."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from bot.messages import ChatKind, IncomingMessage, OutgoingMessage
from bot.privacy import MASK, mask
from bot.tables import ChatLink, Escalation, OutboxMessage, Team, User
from knowledge import suggestions

OPEN = ("open", "claimed")
MENTION = re.compile(r"\[@[^\]]*\]")

NOTIFY = ("Câu hỏi #{id} cần tổ trả lời ({village}):\n\"{question}\"\n{where}{guesses}\n"
          "Trả lời: #{id} <câu trả lời> · Nhận việc: /nhan {id} · Gắn với mục có sẵn: #{id} = <mã mục>")
RELAY = "Dạ, về câu hỏi #{id} của bác, tổ công nghệ số cộng đồng trả lời:\n{answer}\n— {member}"
CONFIRM = "Đã gửi câu trả lời #{id} tới người hỏi ({where}). Cảm ơn anh/chị!"
ALREADY_ANSWERED = "Dạ, câu #{id} đã được {who} trả lời rồi nên cháu không gửi thêm ạ."


@dataclass(frozen=True)
class Refusal(Exception):
    """A command that cannot be carried out, with the polite text that says why."""

    text: str


def platform_id(user: User, platform: str) -> str | None:
    return user.facebook_id if platform == "facebook" else user.zalo_id


def member_for(session: Session, platform: str, sender_id: str) -> User | None:
    """The team member (or admin) writing from this platform account, if any."""
    column = User.facebook_id if platform == "facebook" else User.zalo_id
    return session.exec(select(User).where(column == sender_id)).first()


def team_for_chat(session: Session, platform: str, chat_id: str) -> Team | None:
    """The chat's linked team; with a single team, every chat belongs to it."""
    link = session.exec(select(ChatLink).where(ChatLink.platform == platform, ChatLink.chat_id == chat_id)).first()
    if link is not None:
        return session.get(Team, link.team_id)
    teams = session.exec(select(Team).limit(2)).all()
    return teams[0] if len(teams) == 1 else None


def staff_chat(session: Session, team_id: int | None, platform: str) -> ChatLink | None:
    return session.exec(select(ChatLink).where(ChatLink.team_id == team_id, ChatLink.platform == platform,
                                               ChatLink.staff.is_(True))).first()


def reachable_members(session: Session, team_id: int | None, platform: str, roles: tuple[str, ...] = ("leader", "member")) -> list[User]:
    """Members who can be messaged on this platform: those on duty, or everyone when nobody is."""
    people = [u for u in session.exec(select(User).where(User.team_id == team_id)).all()
              if u.role in roles and platform_id(u, platform)]
    on_duty = [u for u in people if u.on_duty]
    return on_duty or people


def escalate(session: Session, message: IncomingMessage, guesses: list[str], now: datetime,
             question_of: Callable[[str], str], bot_answer: str | None = None) -> tuple[Escalation, list[OutgoingMessage]]:
    """Record the question (personal numbers masked) and the notifications to the team."""
    team = team_for_chat(session, message.platform, message.chat_id)
    escalation = Escalation(
        platform=message.platform, chat_id=message.chat_id, chat_kind=message.chat_kind.value,
        asker_id=message.sender_id, asker_name=message.sender_name, message_id=message.message_id,
        question=mask(MENTION.sub("", message.text)).strip(), guesses=guesses, team_id=team.id if team else None,
        bot_answer=bot_answer, created_at=now,
    )
    session.add(escalation)
    session.flush()
    return escalation, notifications(session, escalation, team, question_of)


def notifications(session: Session, esc: Escalation, team: Team | None, question_of: Callable[[str], str],
                  roles: tuple[str, ...] = ("leader", "member"), prefix: str = "") -> list[OutgoingMessage]:
    if team is None:
        return []
    text = prefix + notify_text(esc, team, question_of)
    # Nobody reads a browser's outbox: the team hears of web chat questions on Zalo (or Messenger).
    for platform in ("zalo", "facebook") if esc.platform == "web" else (esc.platform,):
        people = reachable_members(session, team.id, platform, roles)
        if people:
            return [to_person(platform, platform_id(u, platform), text, esc, "notify") for u in people]
    return []


def notify_text(esc: Escalation, team: Team, question_of: Callable[[str], str]) -> str:
    where = "trong nhóm" if esc.chat_kind == ChatKind.GROUP else "nhắn riêng"
    asker = esc.asker_name or "bà con"
    guesses = [question_of(g) for g in esc.guesses[:3]]
    guess_text = ("\nBot đoán: " + "; ".join(guesses)) if guesses else ""
    bot_said = f"\nBot đã trả lời bằng mục {esc.bot_answer} nhưng người hỏi báo chưa đúng." if esc.bot_answer else ""
    village = team.name + (f", {team.commune}" if team.commune else "")
    return NOTIFY.format(id=esc.id, village=village, question=esc.question, where=f"{asker} hỏi {where}.",
                         guesses=guess_text + bot_said)


def to_person(platform: str, user_id: str | None, text: str, esc: Escalation | None, purpose: str) -> OutgoingMessage:
    meta = {"purpose": purpose, "escalation_id": esc.id if esc else None}
    return OutgoingMessage(platform=platform, chat_id=user_id or "", chat_kind=ChatKind.PRIVATE, text=text, meta=meta)


def find(session: Session, number: int, member: User) -> Escalation:
    esc = session.get(Escalation, number)
    if esc is None:
        raise Refusal(f"Không có câu hỏi #{number} ạ. Gõ /ds để xem các câu đang chờ.")
    if member.role != "admin" and esc.team_id is not None and esc.team_id != member.team_id:
        raise Refusal(f"Câu #{number} thuộc tổ khác, anh/chị không xử lý được ạ.")
    return esc


def _lock(session: Session, esc: Escalation) -> None:
    """Hold the escalation until commit and read it again: of two people acting at once (chat, page, API)
    the second waits here and then sees what the first did. A no-op UPDATE locks the row on PostgreSQL and
    the database on SQLite."""
    session.execute(update(Escalation).where(Escalation.id == esc.id).values(status=Escalation.status)
                    .execution_options(synchronize_session=False))
    session.refresh(esc)


def claim(session: Session, esc: Escalation, member: User, now: datetime) -> str:
    _lock(session, esc)
    if esc.status not in OPEN:
        raise Refusal(ALREADY_ANSWERED.format(id=esc.id, who=esc.answered_by_name or "người khác"))
    if esc.status == "claimed" and esc.claimed_by not in (None, member.id):
        holder = session.get(User, esc.claimed_by)
        raise Refusal(f"Câu #{esc.id} đang do {holder.name if holder else 'người khác'} nhận ạ.")
    esc.status, esc.claimed_by, esc.claimed_at = "claimed", member.id, now
    session.add(esc)
    return f"Anh/chị đã nhận câu #{esc.id}: \"{esc.question}\". Trả lời bằng: #{esc.id} <câu trả lời>"


def release(session: Session, esc: Escalation, member: User) -> str:
    _lock(session, esc)
    if esc.status != "claimed" or (esc.claimed_by != member.id and member.role not in ("leader", "admin")):
        raise Refusal(f"Câu #{esc.id} không do anh/chị nhận nên không trả lại được ạ.")
    esc.status, esc.claimed_by, esc.claimed_at = "open", None, None
    session.add(esc)
    return f"Đã trả câu #{esc.id} về danh sách chờ."


def answer(session: Session, esc: Escalation, answer_text: str, now: datetime, *, member: User | None = None,
           by_name: str | None = None, faq_id: str | None = None) -> list[OutgoingMessage]:
    """Relay a person's answer into the original chat, close the escalation and propose an FAQ change."""
    _lock(session, esc)
    if esc.status not in OPEN:
        raise Refusal(ALREADY_ANSWERED.format(id=esc.id, who=esc.answered_by_name or "người khác"))
    name = by_name or (member.name if member else "tổ công nghệ số")
    clean = MENTION.sub("", answer_text).strip()
    esc.status, esc.answer, esc.answered_at, esc.faq_id = "answered", clean, now, faq_id
    esc.answered_by, esc.answered_by_name = (member.id if member else None), name
    session.add(esc)
    suggestions.propose(session, esc.question, clean, source=f"escalation #{esc.id}", author=name, faq_id=faq_id)
    group = esc.chat_kind == ChatKind.GROUP
    # Quoting a group question that held a personal number would show the number to the group again.
    quote = None if group and MASK in esc.question else esc.message_id
    relay = OutgoingMessage(platform=esc.platform, chat_id=esc.chat_id, chat_kind=ChatKind(esc.chat_kind),
                            text=RELAY.format(id=esc.id, answer=clean, member=name),
                            mention_user_id=esc.asker_id if group else None, reply_to=quote,
                            meta={"purpose": "relay", "escalation_id": esc.id})
    return [relay]


def close_by_echo(session: Session, platform: str, chat_id: str, text: str, now: datetime) -> list[Escalation]:
    """A person answered from the OA chat tool or the Page inbox: the open escalations of that chat are answered."""
    rows = session.exec(select(Escalation).where(Escalation.platform == platform, Escalation.chat_id == chat_id,
                                                 Escalation.status.in_(OPEN))).all()
    for esc in rows:
        esc.status, esc.answer, esc.answered_at, esc.answered_by_name = "answered", text.strip(), now, "trang quản lý"
        session.add(esc)
        suggestions.propose(session, esc.question, text.strip(), source=f"escalation #{esc.id}", author="inbox")
    return list(rows)


FALLBACK = "(Không nhắn riêng được cho thành viên của tổ, cháu gửi vào nhóm của tổ)\n"


def fallback(session: Session, escalation_id: int | None, platform: str, text: str) -> OutgoingMessage | None:
    """A refused notification goes to the team's staff group, once per escalation."""
    esc = session.get(Escalation, escalation_id) if escalation_id else None
    staff = staff_chat(session, esc.team_id, platform) if esc else None
    if staff is None:
        return None
    already = session.exec(select(OutboxMessage).where(OutboxMessage.escalation_id == esc.id,
                                                       OutboxMessage.purpose == "notify-fallback")).first()
    if already is not None:
        return None
    return OutgoingMessage(platform=platform, chat_id=staff.chat_id, chat_kind=ChatKind.GROUP, text=FALLBACK + text,
                           meta={"purpose": "notify-fallback", "escalation_id": esc.id})


def open_for(session: Session, member: User) -> list[Escalation]:
    query = select(Escalation).where(Escalation.status.in_(OPEN)).order_by(Escalation.id)
    if member.role != "admin":
        query = query.where(Escalation.team_id == member.team_id)
    return list(session.exec(query).all())


def open_in_private_chat(session: Session, platform: str, chat_id: str, asker_id: str) -> Escalation | None:
    """The asker's open escalation in this private chat. Every private message asks and almost never finds
    one, so the question is a Core query for an id (the ORM's loading machinery cost more than the query);
    the escalation itself is loaded only when there is one."""
    session.flush()  # a change made earlier in this transaction (an escalation answered) counts, as in an ORM query
    found = session.connection().execute(_open_in_private_chat(),
                                         {"platform": platform, "chat_id": chat_id, "asker": asker_id}).scalar()
    return session.get(Escalation, found) if found is not None else None


def waiting_in_private(session: Session, messages: Sequence[IncomingMessage]) -> set[tuple[str, str, str]]:
    """(platform, chat id, asker) of the private messages whose sender waits for the team in that chat:
    one query for a batch of messages instead of one each. An escalation in a private chat is opened only
    while a message of that chat is processed, so for a batch with one message per chat the answer holds
    until the batch is done."""
    chats = [m.chat_id for m in messages if not m.is_group]
    if not chats:
        return set()
    found = session.connection().execute(_waiting_in_private(), {"chats": chats})
    return {(row.platform, row.chat_id, row.asker_id) for row in found}


@cache
def _waiting_in_private():
    return select(Escalation.platform, Escalation.chat_id, Escalation.asker_id).where(
        Escalation.chat_id.in_(bindparam("chats", expanding=True)), Escalation.chat_kind == ChatKind.PRIVATE.value,
        Escalation.status.in_(OPEN))


@cache
def _open_in_private_chat():
    """Built once: every private message asks it."""
    return select(Escalation.id).where(
        Escalation.platform == bindparam("platform"), Escalation.chat_id == bindparam("chat_id"),
        Escalation.asker_id == bindparam("asker"), Escalation.chat_kind == ChatKind.PRIVATE.value,
        Escalation.status.in_(OPEN)).order_by(Escalation.id.desc()).limit(1)
