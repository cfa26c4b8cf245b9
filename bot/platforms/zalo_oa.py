"""Zalo Official Account: the signed webhook (1:1 chats and GMF groups), CS and group sends, tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping

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
    TokenGrant,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_text,
    json_object,
    parts_to_send,
    request,
    status_error,
)
from bot.platforms.text import mentions_name, names_pattern

# Zalo answers HTTP 200 with a non-zero "error". Codes not listed here are permanent.
# Sources: platforms.md §1.3 and §7.3 (mostly [S]/[UNCONFIRMED]); -32 is the rate-limit code
# integrators report [UNCONFIRMED]; -100 is "unknown error, try again later" in Zalo's ZNS table.
ZALO_ERRORS: dict[int, tuple[str, str]] = {
    -216: (TOKEN, "access token invalid"),
    -124: (TOKEN, "access token invalid or expired"),
    -32: (TRANSIENT, "too many requests"),
    -100: (TRANSIENT, "unknown error, try again later"),
    -201: (PERMANENT, "invalid parameter"),
    -213: (PERMANENT, "user does not follow or has not interacted with the OA"),
    -230: (PERMANENT, "user has not interacted with the OA in the past 7 days"),
    -224: (PERMANENT, "the OA package lacks this feature"),
    -237: (PERMANENT, "group disabled (its GMF asset expired)"),
}
# Whatever the code, a message about the access token means: refresh it.
_TOKEN_MESSAGE = re.compile(
    r"access[\s_]?token.*(invalid|expired|not valid)|(invalid|expired).*access[\s_]?token", re.IGNORECASE
)

# Mentions in Zalo groups are plain text `[@<id>]` (platforms.md §7.3).
_MENTION = re.compile(r"\[@[^\[\]\n]*\]")

# event-name prefix -> (chat kind, is an echo of the OA's own send); groups first.
_ROUTES = (
    ("user_send_group_", ChatKind.GROUP, False),
    ("user_send_", ChatKind.PRIVATE, False),
    ("oa_send_group_", ChatKind.GROUP, True),
    ("oa_send_", ChatKind.PRIVATE, True),
)
_KINDS = {"gif": "image"}  # Zalo attachment type -> our Attachment.kind, when they differ
_MAX_PAGES = 200  # list_groups stops here even if the server keeps answering full pages


class ZaloOA:
    """Adapter for a Zalo Official Account (platforms.md §1 and §7)."""

    name = "zalo"
    max_text = 2000

    def __init__(
        self,
        app_id: str,
        oa_secret_key: str,
        *,
        api_base: str = "https://openapi.zalo.me",
        oauth_base: str = "https://oauth.zaloapp.com",
        app_secret: str | None = None,
        oa_id: str | None = None,
        bot_names: tuple[str, ...] = (),
    ) -> None:
        if not app_id or not oa_secret_key:
            raise ValueError("ZaloOA needs app_id and oa_secret_key: the webhook signature depends on both")
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.app_secret = app_secret
        self.oa_id = oa_id
        self._names = names_pattern(bot_names)

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict:
        """X-ZEvent-Signature = [mac=]sha256_hex(app_id + raw body + timestamp + OA secret key)."""
        signature = headers.get("x-zevent-signature")
        if not signature:
            raise Rejected(401, "missing X-ZEvent-Signature")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise Rejected(401, "body is not JSON: the signature cannot be checked") from None
        if not isinstance(payload, dict):
            raise Rejected(401, "body is not a JSON object")
        if as_id(payload.get("app_id")) != self.app_id:
            raise Rejected(403, "app_id does not match")
        timestamp = as_id(payload.get("timestamp")) or ""
        expected = hashlib.sha256(
            self.app_id.encode() + body + timestamp.encode() + self.oa_secret_key.encode()
        ).hexdigest()
        given = signature.strip().removeprefix("mac=").strip().lower()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Rejected(403, "X-ZEvent-Signature does not match")
        return payload

    def parse(self, payload: object) -> Delivery:
        """One Zalo event per delivery: a message, a follow, an echo, or a skipped name."""
        event = as_dict(payload).get("event_name")
        name = event if isinstance(event, str) and event else "malformed"
        message = self._event(payload, name) if isinstance(payload, dict) else None
        if message is None:
            return Delivery(skipped=[name])
        return Delivery(messages=[message])

    def _event(self, payload: dict, name: str) -> IncomingMessage | None:
        if name in ("follow", "unfollow"):
            return self._follow(payload, name)
        for prefix, kind, echo in _ROUTES:
            if name.startswith(prefix):
                return self._message(payload, name, kind, echo)
        return None

    def _follow(self, payload: dict, name: str) -> IncomingMessage | None:
        follower = as_id(as_dict(payload.get("follower")).get("id"))
        if follower is None:
            return None
        timestamp = as_id(payload.get("timestamp")) or ""
        return IncomingMessage(
            platform=self.name,
            chat_id=follower,
            chat_kind=ChatKind.PRIVATE,
            sender_id=follower,
            message_id=f"{name}:{follower}:{timestamp}",
            event=name,
        )

    def _message(self, payload: dict, name: str, kind: ChatKind, echo: bool) -> IncomingMessage | None:
        sender, recipient = as_dict(payload.get("sender")), as_dict(payload.get("recipient"))
        message = as_dict(payload.get("message"))
        sender_id = as_id(sender.get("id"))
        if kind == ChatKind.GROUP:
            # Four integrations read the group from recipient.id; group_id is the defensive guess.
            chat_id = as_id(recipient.get("group_id")) or as_id(recipient.get("id"))
        else:
            chat_id = as_id(recipient.get("id")) if echo else sender_id
        if echo:
            sender_id = sender_id or self.oa_id
        if chat_id is None or sender_id is None:
            return None
        raw = as_text(message.get("text"))
        timestamp = as_id(payload.get("timestamp")) or ""
        return IncomingMessage(
            platform=self.name,
            chat_id=chat_id,
            chat_kind=kind,
            sender_id=sender_id,
            message_id=as_id(message.get("msg_id")) or f"{name}:{timestamp}:{sender_id}",
            text=strip_mentions(raw),
            sender_name=as_text(sender.get("display_name")) or as_text(sender.get("name")) or None,
            attachments=_attachments(message),
            mentions_bot=kind == ChatKind.GROUP and not echo and self._mentions_bot(raw),
            reply_to=as_id(message.get("quote_msg_id")) or as_id(as_dict(message.get("quote_msg")).get("msg_id")),
            event="echo" if echo else "message",
            # Chatwoot's rule: an OA echo carrying admin_id was typed by a person in the OA chat tool.
            from_human=echo and as_id(sender.get("admin_id")) is not None,
        )

    def _mentions_bot(self, text: str) -> bool:
        if self.oa_id and f"[@{self.oa_id}]" in text:
            return True
        return mentions_name(_MENTION.sub(" ", text), self._names)

    async def send(self, client: httpx.AsyncClient, out: OutgoingMessage, access_token: str | None = None) -> Sent:
        """A CS message to a user, or a GMF group message; long text goes out as several messages."""
        if not access_token:
            raise SendError("no Zalo OA access token", transient=True, token_expired=True)
        if out.chat_kind == ChatKind.GROUP:
            url = f"{self.api_base}/v3.0/oa/group/message"
            recipient = {"group_id": out.chat_id}
            messages = self._group_messages(out)
        else:
            url = f"{self.api_base}/v3.0/oa/message/cs"
            recipient = {"user_id": out.chat_id}
            messages = [{"text": part} for part in parts_to_send(out.text, self.max_text)]
            if out.reply_to:
                messages[0]["quote_message_id"] = out.reply_to
        ids = []
        for message in messages:
            body = {"recipient": recipient, "message": message}
            data = await self._call(client, "POST", url, access_token, json=body)
            if message_id := as_id(data.get("message_id")):
                ids.append(message_id)
        return Sent(tuple(ids))

    def _group_messages(self, out: OutgoingMessage) -> list[dict]:
        """Group text: no relayed `[@…]` (each would ping someone); our own mention leads the first part."""
        prefix = f"[@{out.mention_user_id}] " if out.mention_user_id else ""
        parts = parts_to_send(strip_mentions(out.text), self.max_text - len(prefix))
        parts[0] = prefix + parts[0]
        return [{"text": part} for part in parts]

    async def refresh(self, client: httpx.AsyncClient, refresh_token: str) -> TokenGrant:
        """Trade the (single-use) refresh token for a new access and refresh token pair."""
        if not self.app_secret:
            raise SendError("no Zalo app secret: cannot refresh the token", transient=False, token_expired=True)
        response = await request(
            client,
            "POST",
            f"{self.oauth_base}/v4/oa/access_token",
            headers={"secret_key": self.app_secret},
            data={"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"},
        )
        if not response.is_success:
            error = status_error(response, "token refresh")
            error.token_expired = not error.transient
            raise error
        body = json_object(response)
        access, renewed = as_id(body.get("access_token")), as_id(body.get("refresh_token"))
        if access is None or renewed is None:
            fields = (as_text(body.get(key)) for key in ("error_description", "error_name", "message"))
            detail = next((text for text in fields if text), "no tokens in the answer")
            raise SendError(
                f"token refresh refused: {detail}", transient=False, token_expired=True, code=as_int(body.get("error"))
            )
        return TokenGrant(access_token=access, refresh_token=renewed, expires_in=as_int(body.get("expires_in")))

    async def list_groups(self, client: httpx.AsyncClient, access_token: str, *, page_size: int = 50) -> list[dict]:
        """Every GMF group of the OA (group_id, name, total_member, status, group_link), all pages."""
        url = f"{self.api_base}/v3.0/oa/group/getgroupsofoa"
        groups: list[dict] = []
        offset = 0
        for _ in range(_MAX_PAGES):
            data = await self._call(client, "GET", url, access_token, params={"offset": offset, "count": page_size})
            page = [g for g in as_list(data.get("groups")) if isinstance(g, dict)]
            groups.extend(_group(g) for g in page if as_id(g.get("group_id")))
            offset += len(page)
            total = data.get("total")
            if len(page) < page_size or (isinstance(total, int) and offset >= total):
                break
        return groups

    async def _call(self, client: httpx.AsyncClient, method: str, url: str, access_token: str, **kwargs) -> dict:
        """One Open API call; returns its `data`, raises SendError on an HTTP or Zalo error."""
        response = await request(client, method, url, headers={"access_token": access_token}, **kwargs)
        if not response.is_success:
            raise status_error(response)
        body = json_object(response)
        if "error" not in body:
            raise SendError("Zalo answered without an error field", transient=True)
        if as_int(body["error"]) == 0:
            return as_dict(body.get("data"))
        raise zalo_error(body["error"], as_text(body.get("message")))


def zalo_error(code: object, message: str) -> SendError:
    """Classify a non-zero Zalo `error` with ZALO_ERRORS (and the token wording of the message)."""
    number = as_int(code)
    kind, meaning = ZALO_ERRORS.get(number, (PERMANENT, "")) if number is not None else (PERMANENT, "")
    if _TOKEN_MESSAGE.search(message):
        kind = TOKEN
    return SendError(
        f"Zalo error {code}: {message or meaning}",
        transient=kind != PERMANENT,
        token_expired=kind == TOKEN,
        code=number if number is not None else str(code),
    )


def strip_mentions(text: str) -> str:
    """Remove every inline `[@…]` mention and the spaces it leaves; text without one is unchanged."""
    if "[@" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        cleaned = line
        while _MENTION.search(cleaned):  # "[@[@1]]" leaves "[@ ]" after one pass
            cleaned = _MENTION.sub(" ", cleaned)
        lines.append(" ".join(cleaned.split()) if cleaned != line else line)
    return "\n".join(lines).strip()


def _attachments(message: dict) -> tuple[Attachment, ...]:
    found = []
    for item in map(as_dict, as_list(message.get("attachments"))):
        if kind := as_text(item.get("type")):
            url = as_id(as_dict(item.get("payload")).get("url"))
            found.append(Attachment(kind=_KINDS.get(kind, kind), url=url))
    return tuple(found)


def _group(group: dict) -> dict:
    return {
        "group_id": as_id(group.get("group_id")),
        "name": as_text(group.get("name")),
        "total_member": group.get("total_member") if isinstance(group.get("total_member"), int) else None,
        "status": as_text(group.get("status")) or None,
        "group_link": as_text(group.get("group_link")) or None,
    }

