"""Our own message types: what every platform adapter parses into and sends from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True)
class Attachment:
    kind: str  # image | sticker | audio | video | file | location | link
    url: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    platform: str
    chat_id: str
    chat_kind: ChatKind
    sender_id: str
    message_id: str
    text: str = ""
    sender_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    mentions_bot: bool = False  # read in groups only: every private message is for the bot
    reply_to: str | None = None
    event: str = "message"  # message | follow | unfollow | echo | postback
    from_human: bool = False  # an echo typed by a person (OA chat tool, Page inbox), not by an app

    @property
    def is_group(self) -> bool:
        return self.chat_kind is ChatKind.GROUP


@dataclass(frozen=True)
class OutgoingMessage:
    platform: str
    chat_id: str
    chat_kind: ChatKind
    text: str
    mention_user_id: str | None = None  # addressed to this user (inline mention in Zalo groups)
    reply_to: str | None = None
    meta: dict = field(default_factory=dict)
