"""After an answer: "đúng rồi, cảm ơn" closes the loop; "sai rồi", "chưa được" hands the question to the team."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from bot.bulk import RowInsert
from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage
from bot.privacy import mask
from bot.tables import LastAnswer, aware
from handlers.escalation import hand_off
from knowledge.normalize import fold

WRONG = re.compile(r"^(?:da |ua |nhung )?(?:sai roi|sai|khong dung|chua dung|chua duoc|van khong duoc|van chua duoc|"
                   r"khong duoc|khong phai|ko dung|k dung|ko duoc|k duoc|hok duoc|sai r)\b")
RIGHT = re.compile(r"^(?:da |vang )?(?:dung roi|duoc roi|on roi|xong roi|lam duoc roi|cam on|thanks?|ok)\b")
THANKS = "Dạ, cháu cảm ơn bác đã báo lại ạ. Bác cần hỏi thêm gì cứ nhắn cháu nhé."


def remember_answer(ctx: Context, message: IncomingMessage, faq_id: str) -> None:
    """One upsert per answer, written with the worker's batch (the bot answers many messages; this must stay cheap)."""
    ctx.write(_REMEMBER, {"platform": message.platform, "chat_id": message.chat_id, "user_id": message.sender_id,
                          "faq_id": faq_id, "question": mask(message.text), "answered_at": ctx.now})


# The worker writes a batch's upserts as one statement (engine.run_deferred).
_REMEMBER = RowInsert(LastAnswer.__table__,
                      columns=("platform", "chat_id", "user_id", "faq_id", "question", "answered_at"),
                      conflict=("platform", "chat_id", "user_id"))


def _last(ctx: Context, message: IncomingMessage) -> LastAnswer | None:
    return ctx.session.exec(select(LastAnswer).where(
        LastAnswer.platform == message.platform, LastAnswer.chat_id == message.chat_id,
        LastAnswer.user_id == message.sender_id)).first()


class FeedbackHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        text = " ".join(fold(message.text.lower()).split())
        wrong, right = WRONG.match(text), RIGHT.match(text)
        if not (wrong or right) or len(text.split()) > 12:
            return None
        last = _last(ctx, message)
        window = timedelta(minutes=ctx.settings.feedback_window_minutes)
        if last is None or ctx.now - aware(last.answered_at) > window:
            return None
        ctx.session.delete(last)
        ctx.note("feedback-right" if right else "escalate", last.faq_id)
        if right:
            return [] if message.is_group else [reply(message, THANKS)]
        asked = IncomingMessage(platform=message.platform, chat_id=message.chat_id, chat_kind=message.chat_kind,
                                sender_id=message.sender_id, message_id=message.message_id, text=last.question,
                                sender_name=message.sender_name)
        return hand_off(ctx, asked, [last.faq_id], bot_answer=last.faq_id)
