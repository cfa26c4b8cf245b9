"""Team members' chat commands: answer, claim, give back, list, duty; a leader links a group from inside it."""

from __future__ import annotations

import re
import unicodedata

from sqlmodel import select

from bot import handoff
from bot.engine import Context, reply
from bot.handoff import Refusal
from bot.messages import ChatKind, IncomingMessage, OutgoingMessage
from bot.tables import ChatLink, User
from knowledge.normalize import fold

# Matched on the folded, lower-cased text, so "/trả lời", "/tra loi" and "/traloi" are one command.
ANSWER = re.compile(r"^(?:#\s*|/\s*tra\s*loi\s+#?\s*)(\d+)\s*[:.,-]?\s+(.+)$", re.DOTALL)
LINK = re.compile(r"^#\s*(\d+)\s*=\s*([a-z0-9][a-z0-9_-]*)\s*$")
CLAIM = re.compile(r"^/\s*nhan\s+#?\s*(\d+)\s*$")
RELEASE = re.compile(r"^/\s*huy\s+#?\s*(\d+)\s*$")
LIST = re.compile(r"^/\s*ds\s*$")
DUTY = re.compile(r"^/\s*(truc|nghi)\s*$")
LINK_GROUP = re.compile(r"^/\s*lien\s*ket\s*$")
HELP = ("Lệnh của tổ: #12 <câu trả lời> · /traloi 12 <câu trả lời> · #12 = <mã mục> · /nhan 12 · /huy 12 · "
        "/ds · /truc (nhận thông báo) · /nghi (tạm nghỉ)")


def command_text(message: IncomingMessage) -> tuple[str, str]:
    """The folded text for matching, and the original (NFC) text whose positions match it."""
    original = unicodedata.normalize("NFC", message.text).strip()
    return fold(original.lower()), original


class TeamCommandHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        folded, original = command_text(message)
        if not folded.startswith(("#", "/")):
            return None
        member = handoff.member_for(ctx.session, message.platform, message.sender_id)
        if member is None:
            return None
        ctx.note("command")
        try:
            if message.is_group:
                return self._in_group(message, ctx, member, folded)
            return self._private(message, ctx, member, folded, original)
        except Refusal as refusal:
            return [reply(message, refusal.text)]

    def _in_group(self, message: IncomingMessage, ctx: Context, member: User, folded: str) -> list[OutgoingMessage] | None:
        if not LINK_GROUP.match(folded):
            return None
        if member.role not in ("leader", "admin") or member.team_id is None:
            raise Refusal("Dạ, chỉ tổ trưởng mới liên kết nhóm được ạ.")
        link = ctx.session.exec(select(ChatLink).where(ChatLink.platform == message.platform,
                                                       ChatLink.chat_id == message.chat_id)).first()
        link = link or ChatLink(platform=message.platform, chat_id=message.chat_id, team_id=member.team_id)
        link.team_id = member.team_id
        ctx.session.add(link)
        return [reply(message, "Dạ, nhóm này đã được liên kết với tổ. Câu hỏi khó trong nhóm sẽ được chuyển cho tổ ạ.")]

    def _private(self, message: IncomingMessage, ctx: Context, member: User, folded: str,
                 original: str) -> list[OutgoingMessage] | None:
        if m := LINK.match(folded):
            return self._link(message, ctx, member, int(m.group(1)), m.group(2))
        if m := ANSWER.match(folded):
            # Folding NFC Vietnamese keeps positions, so the answer keeps its diacritics.
            text = original[m.start(2):] if len(original) == len(folded) else m.group(2)
            return self._answer(message, ctx, member, int(m.group(1)), text)
        if m := CLAIM.match(folded):
            esc = handoff.find(ctx.session, int(m.group(1)), member)
            return [reply(message, handoff.claim(ctx.session, esc, member, ctx.now))]
        if m := RELEASE.match(folded):
            esc = handoff.find(ctx.session, int(m.group(1)), member)
            return [reply(message, handoff.release(ctx.session, esc, member))]
        if LIST.match(folded):
            return [reply(message, self._list(ctx, member))]
        if m := DUTY.match(folded):
            member.on_duty = m.group(1) == "truc"
            ctx.session.add(member)
            state = "đang trực: sẽ nhận thông báo câu hỏi" if member.on_duty else "tạm nghỉ: không nhận thông báo"
            return [reply(message, f"Dạ, anh/chị {state} ạ.")]
        return [reply(message, HELP)]

    def _answer(self, message: IncomingMessage, ctx: Context, member: User, number: int, text: str) -> list[OutgoingMessage]:
        esc = handoff.find(ctx.session, number, member)
        relayed = handoff.answer(ctx.session, esc, text, ctx.now, member=member)
        return [*relayed, reply(message, handoff.CONFIRM.format(id=number, where=_where(esc.chat_kind)))]

    def _link(self, message: IncomingMessage, ctx: Context, member: User, number: int, faq_id: str) -> list[OutgoingMessage]:
        if faq_id not in ctx.knowledge.entries:
            raise Refusal(f"Không có mục \"{faq_id}\" trong bộ hỏi đáp ạ.")
        esc = handoff.find(ctx.session, number, member)
        relayed = handoff.answer(ctx.session, esc, ctx.knowledge.answer_for(faq_id), ctx.now, member=member,
                                 faq_id=faq_id)
        return [*relayed, reply(message, handoff.CONFIRM.format(id=number, where=_where(esc.chat_kind)))]

    def _list(self, ctx: Context, member: User) -> str:
        rows = handoff.open_for(ctx.session, member)
        if not rows:
            return "Dạ, tổ không còn câu hỏi nào đang chờ ạ."
        lines = [f"#{e.id} [{'đã nhận' if e.status == 'claimed' else 'chờ'}] {e.question[:120]}" for e in rows[:20]]
        more = f"\n… và {len(rows) - 20} câu nữa" if len(rows) > 20 else ""
        return "Các câu đang chờ:\n" + "\n".join(lines) + more


def _where(chat_kind: str) -> str:
    return "trong nhóm" if chat_kind == ChatKind.GROUP else "nhắn riêng"
