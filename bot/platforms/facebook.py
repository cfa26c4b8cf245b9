"""Facebook Messenger (Page conversations): subscription check, signed events, the Send API."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace

import httpx

from bot.messages import Attachment, ChatKind, IncomingMessage, OutgoingMessage
from bot.platforms.base import (
    PERMANENT,
    TOKEN,
    TRANSIENT,
    Delivery,
    Rejected,
    SendError,
    Sent,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_text,
    json_object,
    parts_to_send,
    request,
    retry_after,
    status_error,
)

# Graph `error.code` (or `error_subcode`, looked up first). Codes not listed follow the HTTP status.
# Sources: platforms.md §3.4 (page/messages reference) and Graph's error-handling guide.
GRAPH_ERRORS: dict[int, tuple[str, str]] = {
    1: (TRANSIENT, "unknown error, possibly temporary"),
    2: (TRANSIENT, "service temporarily unavailable"),
    4: (TRANSIENT, "application request limit reached"),
    17: (TRANSIENT, "user request limit reached"),
    32: (TRANSIENT, "page request limit reached"),
    613: (TRANSIENT, "rate limit exceeded"),
    1200: (TRANSIENT, "temporary send message failure"),
    190: (TOKEN, "access token invalid or expired"),
    10: (PERMANENT, "permission denied (often: outside the messaging window)"),
    100: (PERMANENT, "invalid parameter"),
    200: (PERMANENT, "permissions error"),
    230: (PERMANENT, "the user must allow messages first"),
    551: (PERMANENT, "this person is not available"),
    2018278: (PERMANENT, "outside the allowed messaging window"),
}
PAGE_INBOX_APP_ID = "263902037430900"  # echoes of replies typed in the Page Inbox carry this app id
_ENVELOPE = ("sender", "recipient", "timestamp")
_KINDS = {"fallback": "link"}  # Messenger attachment type -> our Attachment.kind, when they differ


class Facebook:
    """Adapter for a Facebook Page's Messenger conversations (platforms.md §3)."""

    name = "facebook"
    max_text = 2000

    def __init__(
        self,
        app_secret: str,
        verify_token: str,
        page_token: str | None,
        *,
        graph_base: str = "https://graph.facebook.com",
        graph_version: str = "v21.0",
        app_id: str | None = None,
    ) -> None:
        if not app_secret or not verify_token:
            raise ValueError("Facebook needs app_secret and verify_token: the webhook checks depend on them")
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.page_token = page_token
        self.graph_base = graph_base.rstrip("/")
        self.graph_version = graph_version.strip("/")
        self.app_id = app_id

    def verify_subscription(self, query: Mapping[str, str]) -> str:
        """The GET handshake: hub.challenge when hub.mode is subscribe and hub.verify_token is ours."""
        token, challenge = query.get("hub.verify_token") or "", query.get("hub.challenge")
        if query.get("hub.mode") != "subscribe" or not challenge:
            raise Rejected(403, "not a subscription request")
        if not hmac.compare_digest(token.encode(), self.verify_token.encode()):
            raise Rejected(403, "hub.verify_token does not match")
        return challenge

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """X-Hub-Signature-256 = sha256=<HMAC-SHA256(app secret, raw body)>."""
        header = headers.get("x-hub-signature-256")
        if not header:
            raise Rejected(401, "missing X-Hub-Signature-256")
        scheme, _, given = header.strip().partition("=")
        expected = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if scheme.lower() != "sha256" or not hmac.compare_digest(given.lower().encode(), expected.encode()):
            raise Rejected(403, "X-Hub-Signature-256 does not match")

    def parse(self, payload: object) -> Delivery:
        """Every event of every entry, from messaging[] and standby[]; the rest is named in skipped."""
        if not isinstance(payload, dict):
            return Delivery(skipped=["malformed"])
        if payload.get("object") != "page":
            return Delivery(skipped=[f"object:{as_text(payload.get('object')) or 'missing'}"])
        delivery = Delivery()
        for entry in map(as_dict, as_list(payload.get("entry"))):
            for channel in ("messaging", "standby"):
                for event in as_list(entry.get(channel)):
                    message = self._event(event, channel == "standby") if isinstance(event, dict) else None
                    if message is None:
                        delivery.skipped.append(_event_name(event))
                    else:
                        delivery.messages.append(message)
        return delivery

    def _event(self, event: dict, standby: bool) -> IncomingMessage | None:
        sender = as_id(as_dict(event.get("sender")).get("id"))
        recipient = as_id(as_dict(event.get("recipient")).get("id"))
        timestamp = as_id(event.get("timestamp")) or ""
        if sender is None or recipient is None:
            return None
        if isinstance(event.get("message"), dict):
            message = event["message"]
            if message.get("is_echo") is True:
                return self._echo(message, page=sender, user=recipient, timestamp=timestamp)
            return self._message(message, sender, timestamp, "standby" if standby else "message")
        if isinstance(event.get("postback"), dict):
            postback = event["postback"]
            return IncomingMessage(
                platform=self.name,
                chat_id=sender,
                chat_kind=ChatKind.PRIVATE,
                sender_id=sender,
                message_id=as_id(postback.get("mid")) or f"postback:{sender}:{timestamp}",
                text=as_text(postback.get("title")),
                event="standby" if standby else "postback",
            )
        return None

    def _message(self, message: dict, sender: str, timestamp: str, event: str) -> IncomingMessage:
        return IncomingMessage(
            platform=self.name,
            chat_id=sender,
            chat_kind=ChatKind.PRIVATE,
            sender_id=sender,
            message_id=as_id(message.get("mid")) or f"{event}:{sender}:{timestamp}",
            text=as_text(message.get("text")),
            attachments=_attachments(message),
            reply_to=as_id(as_dict(message.get("reply_to")).get("mid")),
            event=event,
        )

    def _echo(self, message: dict, *, page: str, user: str, timestamp: str) -> IncomingMessage:
        """What the Page sent to a user: by our app, another app, or a person in the inbox."""
        sent = self._message(message, user, timestamp, "echo")
        return replace(sent, sender_id=page, reply_to=None, from_human=self._from_human(as_id(message.get("app_id"))))

    def _from_human(self, app_id: str | None) -> bool:
        if app_id is None:
            return True
        if self.app_id:
            return app_id != self.app_id
        # Without our own app id every app echo would look human and pause the bot after each
        # reply; only the Page Inbox is then known to be a person.
        return app_id == PAGE_INBOX_APP_ID

    async def send(self, client: httpx.AsyncClient, out: OutgoingMessage, access_token: str | None = None) -> Sent:
        """A RESPONSE message through the Send API, one call per part of a long reply."""
        token = access_token or self.page_token
        if not token:
            raise SendError("no Page access token configured", transient=False)
        parts = parts_to_send(out.text, self.max_text)
        url = f"{self.graph_base}/{self.graph_version}/me/messages"
        ids = []
        for part in parts:
            body = {"recipient": {"id": out.chat_id}, "messaging_type": "RESPONSE", "message": {"text": part}}
            response = await request(client, "POST", url, headers={"Authorization": f"Bearer {token}"}, json=body)
            answer = json_object(response)
            if not response.is_success or "error" in answer:
                raise graph_error(response, as_dict(answer.get("error")))
            if message_id := as_id(answer.get("message_id")):
                ids.append(message_id)
        return Sent(tuple(ids))


def graph_error(response: httpx.Response, error: dict) -> SendError:
    """Classify a Graph error with GRAPH_ERRORS; an unknown code follows `is_transient` or the HTTP status."""
    code, subcode = as_int(error.get("code")), as_int(error.get("error_subcode"))
    message = as_text(error.get("message"))
    found = GRAPH_ERRORS.get(subcode or 0) or GRAPH_ERRORS.get(code or 0)
    if found is None:
        if error.get("is_transient") is True:
            return SendError(f"Graph error {code}: {message}", transient=True, code=code)
        return status_error(response, message, code=code)
    kind, meaning = found
    return SendError(
        f"Graph error {code}" + (f"/{subcode}" if subcode else "") + f": {message or meaning}",
        transient=kind == TRANSIENT,
        token_expired=kind == TOKEN,  # a Page token is not refreshable: permanent, for the operator
        retry_after=retry_after(response.headers.get("retry-after")) if kind == TRANSIENT else None,
        code=code,
    )


def _attachments(message: dict) -> tuple[Attachment, ...]:
    found = []
    for item in map(as_dict, as_list(message.get("attachments"))):
        if kind := as_text(item.get("type")):
            payload = as_dict(item.get("payload"))
            if kind == "image" and payload.get("sticker_id") is not None:
                kind = "sticker"  # stickers (the like button too) arrive as images with a sticker_id
            found.append(Attachment(kind=_KINDS.get(kind, kind), url=as_id(payload.get("url"))))
    return tuple(found)


def _event_name(event: object) -> str:
    """The kind of a skipped event: its first field beyond the envelope (delivery, read, …)."""
    if not isinstance(event, dict):
        return "malformed"
    return next((key for key in event if key not in _ENVELOPE and isinstance(key, str)), "unknown")
