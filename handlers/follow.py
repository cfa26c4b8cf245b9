"""A new follower gets a welcome that says what the bot can help with."""

from __future__ import annotations

from bot.engine import Context, reply
from bot.messages import IncomingMessage, OutgoingMessage

WELCOME = (
    "Dạ, cháu cảm ơn bác đã quan tâm! Cháu là trợ lý số của tổ công nghệ số cộng đồng thôn mình.\n"
    "Bác có thể hỏi cháu về: ứng dụng VNeID và định danh điện tử, thẻ căn cước, dịch vụ công trực tuyến, "
    "bảo hiểm xã hội và bảo hiểm y tế (VssID), chuyển khoản và thanh toán bằng mã QR.\n"
    "Bác cứ nhắn câu hỏi, có dấu hay không dấu đều được, ví dụ: \"quên mật khẩu VNeID\". "
    "Câu nào khó, cháu chuyển cho các anh chị trong tổ trả lời ạ."
)


class FollowHandler:
    def handle(self, message: IncomingMessage, ctx: Context) -> list[OutgoingMessage] | None:
        if message.event != "follow":
            return None
        return [reply(message, WELCOME)]
