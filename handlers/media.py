"""Images, stickers, voice and files without text: ask to type the question (silence in groups)."""

from __future__ import annotations

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage

CANNOT_READ = ("Dạ, cháu chưa xem được ảnh, tệp hay tin nhắn thoại ạ. Bác gõ câu hỏi bằng chữ giúp cháu nhé, "
               "không dấu cũng được ạ.")
STICKER = "Dạ, bác cần hỏi gì cứ nhắn chữ cho cháu nhé, cháu trả lời ngay ạ."
LIGHT_KINDS = {"sticker", "gif"}


class MediaHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if message.text.strip() or not message.attachments:
            return None
        ctx.note("media")
        if message.is_group and not message.mentions_bot:
            return []
        light = all(a.kind in LIGHT_KINDS for a in message.attachments)
        return [reply(message, STICKER if light else CANNOT_READ)]
