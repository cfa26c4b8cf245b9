"""Zalo Bot platform (the Telegram-like bot API): secret-token webhook, updates, sendMessage."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

import httpx

from bot.messages import Attachment, ChatKind, IncomingMessage, OutgoingMessage
from bot.platforms.base import (
    Delivery,
    Rejected,
    SendError,
    Sent,
    as_dict,
    as_id,
    as_int,
    as_text,
    json_object,
    parts_to_send,
    request,
    status_error,
)
from bot.platforms.text import mentions_name, names_pattern

_TEXT, _IMAGE = "message.text.received", "message.image.received"
_STICKER, _UNSUPPORTED = "message.sticker.received", "message.unsupported.received"


class ZaloBot:
    """Adapter for a bot of the Zalo Bot platform (platforms.md §2)."""

    name = "zalo-bot"
    max_text = 2000

    def __init__(
        self,
        token: str | None,
        secret_token: str,
        *,
        api_base: str = "https://bot-api.zaloplatforms.com",
        bot_names: tuple[str, ...] = (),
    ) -> None:
        if not secret_token:
            raise ValueError("ZaloBot needs a secret_token: it is the only check on the webhook")
        self.token = token
        self.secret_token = secret_token
        self.api_base = api_base.rstrip("/")
        self._names = names_pattern(bot_names)

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """X-Bot-Api-Secret-Token must equal the secret_token given to setWebhook."""
        given = headers.get("x-bot-api-secret-token")
        if not given:
            raise Rejected(401, "missing X-Bot-Api-Secret-Token")
        if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
            raise Rejected(403, "X-Bot-Api-Secret-Token does not match")

    def parse(self, payload: object) -> Delivery:
        """The update (bare, or wrapped as {ok, result}) as our message; bots' own messages are skipped."""
        delivery = Delivery()
        for update in _updates(payload):
            update = as_dict(update)
            message = as_dict(update.get("message"))
            event = as_text(update.get("event_name")) or _guess_event(message)
            parsed = self._message(message, event)
            if parsed is None:
                delivery.skipped.append(event or "malformed")
            else:
                delivery.messages.append(parsed)
        return delivery

    def _message(self, message: dict, event: str) -> IncomingMessage | None:
        chat, sender = as_dict(message.get("chat")), as_dict(message.get("from"))
        chat_id, sender_id = as_id(chat.get("id")), as_id(sender.get("id"))
        if event not in (_TEXT, _IMAGE, _STICKER, _UNSUPPORTED) or not chat_id or not sender_id:
            return None
        if sender.get("is_bot") is True:
            return None
        text = as_text(message.get("caption" if event == _IMAGE else "text"))
        kind = ChatKind.GROUP if as_text(chat.get("chat_type")).upper() == "GROUP" else ChatKind.PRIVATE
        return IncomingMessage(
            platform=self.name,
            chat_id=chat_id,
            chat_kind=kind,
            sender_id=sender_id,
            message_id=as_id(message.get("message_id")) or f"{event}:{chat_id}:{as_id(message.get('date')) or ''}",
            text=text,
            sender_name=as_text(sender.get("display_name")) or as_text(sender.get("first_name")) or None,
            attachments=_attachments(message, event),
            mentions_bot=kind == ChatKind.GROUP and mentions_name(text, self._names),
        )

    async def send(self, client: httpx.AsyncClient, out: OutgoingMessage, access_token: str | None = None) -> Sent:
        """sendMessage, one call per part of a long reply; the first part quotes out.reply_to."""
        token = access_token or self.token
        if not token:
            raise SendError("no Zalo Bot token configured", transient=False)
        parts = parts_to_send(out.text, self.max_text)
        url = f"{self.api_base}/bot{token}/sendMessage"
        ids = []
        for index, part in enumerate(parts):
            body = {"chat_id": out.chat_id, "text": part}
            if out.reply_to and index == 0:
                body["reply_to_message_id"] = out.reply_to
            result = _result(await request(client, "POST", url, json=body))
            if message_id := as_id(result.get("message_id")):
                ids.append(message_id)
        return Sent(tuple(ids))


def _result(response: httpx.Response) -> dict:
    """The `result` of {"ok": true, ...}; {"ok": false, "error_code", "description"} becomes a SendError."""
    body = json_object(response)
    if response.is_success and body.get("ok") is True:
        return as_dict(body.get("result"))
    code = as_int(body.get("error_code"))
    if response.is_success and code is None:
        raise SendError("Zalo Bot answered without ok or error_code", transient=True)
    # error_code mirrors HTTP statuses (401 bad token, 429 too many, 408 poll timeout), so classify it as one;
    # a bot token cannot be refreshed, so a 401 is simply permanent.
    raise status_error(response, as_text(body.get("description")), status=code or response.status_code)


def _updates(payload: object) -> list:
    """The update itself, or what a getUpdates-style {ok, result} wrapper holds (one, or defensively a list)."""
    if isinstance(payload, dict) and "ok" in payload and "result" in payload:
        result = payload["result"]
        return result if isinstance(result, list) else [result]
    return [payload]


def _guess_event(message: dict) -> str:
    """getUpdates results carry no event_name: tell the kind from the fields present."""
    if not message:
        return ""
    if "photo_url" in message:
        return _IMAGE
    if "sticker" in message:
        return _STICKER
    return _TEXT if "text" in message else _UNSUPPORTED


def _attachments(message: dict, event: str) -> tuple[Attachment, ...]:
    if event == _IMAGE:
        return (Attachment("image", as_id(message.get("photo_url"))),)
    if event == _STICKER:
        return (Attachment("sticker"),)  # `sticker` is an id, not a URL
    if event == _UNSUPPORTED:
        return (Attachment("unsupported"),)  # a voice note, video or file the bot API does not pass on
    return ()
