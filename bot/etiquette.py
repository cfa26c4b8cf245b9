"""Group manners: never post the same reply twice within minutes, and a per-chat rate limit."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.messages import ChatKind, OutgoingMessage
from bot.outbox import recent_in_chat
from bot.settings import Settings
from bot.tables import aware

log = logging.getLogger("troly.etiquette")

ALREADY_ANSWERED = "Dạ, câu này cháu vừa trả lời ngay phía trên trong nhóm ạ, bác kéo lên xem giúp cháu nhé."


def admit(session: Session, replies: list[OutgoingMessage], now: datetime, settings: Settings) -> list[OutgoingMessage]:
    """The replies that may go out; in groups a repeat becomes a pointer and a flood is cut."""
    admitted = []
    for out in replies:
        # A person's relayed answer or a team notice is never dropped; only the bot's own replies are limited.
        if out.chat_kind is not ChatKind.GROUP or out.meta.get("purpose", "reply") != "reply":
            admitted.append(out)
            continue
        recent = recent_in_chat(session, out.platform, out.chat_id, now - timedelta(minutes=settings.group_repeat_minutes))
        texts = {r.text for r in recent} | {a.text for a in admitted if a.chat_id == out.chat_id}
        if out.text in texts:
            out = replace(out, text=ALREADY_ANSWERED)
            if out.text in texts:
                log.info("group %s:%s: repeated reply dropped", out.platform, out.chat_id)
                continue
        last_minute = [r for r in recent if aware(r.created_at) >= now - timedelta(minutes=1)]
        if len(last_minute) + sum(a.chat_id == out.chat_id for a in admitted) >= settings.group_replies_per_minute:
            log.warning("group %s:%s: rate limit reached, reply dropped", out.platform, out.chat_id)
            continue
        admitted.append(out)
    return admitted
