"""A personal number posted in a group gets a kind public warning, at most once an hour per chat."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from sqlmodel import select

from bot import handoff
from bot.engine import Context, Engine, Handler
from bot.messages import IncomingMessage, OutgoingMessage
from bot.privacy import has_personal_number
from bot.tables import PrivacyWarning, aware

WARNING = ("Dạ, bác lưu ý giúp cháu: không nên đăng số CCCD, số điện thoại, mã OTP hay số tài khoản lên nhóm "
           "chung ạ. Bác nên thu hồi tin đó; cần hỏi việc riêng, bác nhắn riêng cho cháu hoặc cho tổ nhé.")
QUIET = timedelta(hours=1)
# Public service hotlines (1900 9068, 18001096) are not anybody's personal number.
HOTLINE = re.compile(r"(?<!\d)1[89]00(?:[ .\-]?\d){4,6}(?!\d)")


def shows_personal_number(message: IncomingMessage) -> bool:
    return message.event == "message" and has_personal_number(HOTLINE.sub("", message.text))


class GroupPrivacyWarning:
    """Runs the handlers it wraps (first answer wins, as in the engine) and adds the warning to their replies.

    A wrapper, not a handler of its own, because the warning comes on top of the normal answer, not instead of it,
    and the engine stays "the first handler that answers wins". It goes last in the list: it always answers.
    """

    def __init__(self, handlers: Sequence[Handler]) -> None:
        self.inner = Engine(handlers)

    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage]:
        replies = self.inner.process(message, ctx)
        if not (message.is_group and shows_personal_number(message)):
            return replies
        # Quoting the message would show the number once more; the mention still says whom the reply is for.
        replies = [replace(r, reply_to=None) if r.reply_to == message.message_id else r for r in replies]
        if handoff.member_for(ctx.session, message.platform, message.sender_id) is not None or not _due(message, ctx):
            return replies
        return [*replies, OutgoingMessage(platform=message.platform, chat_id=message.chat_id,
                                          chat_kind=message.chat_kind, text=WARNING,
                                          mention_user_id=message.sender_id, meta={"purpose": "privacy-warning"})]


def _due(message: IncomingMessage, ctx: Context) -> bool:
    """True (and remembered) when this chat has not been warned within the last hour."""
    last = ctx.session.exec(select(PrivacyWarning).where(PrivacyWarning.platform == message.platform,
                                                         PrivacyWarning.chat_id == message.chat_id)).first()
    if last is not None and ctx.now - aware(last.warned_at) < QUIET:
        return False
    last = last or PrivacyWarning(platform=message.platform, chat_id=message.chat_id)
    last.warned_at = ctx.now
    ctx.session.add(last)
    return True
