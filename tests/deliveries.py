"""Signed webhook deliveries as the platforms send them, built from the documented sample shapes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent / "payloads"
APP_ID = "2553928453557884079"
OA_ID = "3662729599332560487"
OA_SECRET = "TEST_OA_SECRET"
BOT_SECRET = "bot-secret-token-123"
FB_APP_SECRET = "fb-app-secret"
FB_VERIFY_TOKEN = "fb-verify"
PAGE_ID = "104000000000001"

_ids = itertools.count(1)


def raw_sample(name: str) -> bytes:
    """The exact bytes of a payload copied from ../shared/samples/."""
    return (PAYLOADS / name).read_bytes()


def sample(name: str) -> dict:
    return json.loads(raw_sample(name))


def platform_env(base_url: str) -> dict[str, str]:
    """Settings that make all three platforms live and point them at a fake platform server."""
    return dict(
        zalo_app_id=APP_ID, zalo_oa_secret_key=OA_SECRET, zalo_oa_id=OA_ID, zalo_access_token="za-1",
        zalo_refresh_token="zr-1", zalo_app_secret="app-secret", zalo_api_base=base_url, zalo_oauth_base=base_url,
        zalo_bot_token="123:abc", zalo_bot_secret_token=BOT_SECRET, zalo_bot_api_base=base_url,
        facebook_app_secret=FB_APP_SECRET, facebook_verify_token=FB_VERIFY_TOKEN, facebook_page_token="fb-page",
        facebook_graph_base=base_url,
    )


def zalo_signature(body: bytes, secret: str = OA_SECRET) -> str:
    event = json.loads(body)
    digest = hashlib.sha256(event["app_id"].encode() + body + event["timestamp"].encode() + secret.encode())
    return "mac=" + digest.hexdigest()


def zalo(text: str, sender: str = "6142494823000000001", group: str | None = None, msg_id: str | None = None,
         event: str | None = None, **message: object) -> tuple[bytes, dict[str, str]]:
    """A Zalo OA `user_send_text` (or `user_send_group_text` when `group` is given), signed."""
    payload = {
        "event_name": event or ("user_send_group_text" if group else "user_send_text"),
        "app_id": APP_ID,
        "sender": {"id": sender},
        "recipient": {"id": group or OA_ID},
        "message": {"text": text, "msg_id": msg_id or f"zmsg{next(_ids):08d}", **message},
        "timestamp": str(int(time.time() * 1000)),
        "user_id_by_app": "979122185046046317",
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"X-ZEvent-Signature": zalo_signature(body), "Content-Type": "application/json"}


def zalo_event(payload: dict) -> tuple[bytes, dict[str, str]]:
    """Any Zalo OA event (follow, echo, unknown), signed."""
    payload = {"app_id": APP_ID, "timestamp": str(int(time.time() * 1000)), **payload}
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"X-ZEvent-Signature": zalo_signature(body), "Content-Type": "application/json"}


def zalo_bot(text: str, chat: str = "e4ea2cd5189df1c3a88c", kind: str = "PRIVATE",
             message_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    payload = {"event_name": "message.text.received", "message": {
        "message_id": message_id or f"zb{next(_ids):08d}", "date": int(time.time() * 1000),
        "chat": {"id": chat, "chat_type": kind},
        "from": {"id": chat if kind == "PRIVATE" else "u-member", "display_name": "Nguyen Van A", "is_bot": False},
        "text": text, "message_type": "CHAT_MESSAGE"}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"X-Bot-Api-Secret-Token": BOT_SECRET, "Content-Type": "application/json"}


def facebook_signature(body: bytes, secret: str = FB_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def messenger_event(text: str, psid: str = "2900000000000001", mid: str | None = None) -> dict:
    now = int(time.time() * 1000)
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": now,
            "message": {"mid": mid or f"m_{next(_ids):08d}", "text": text}}


def facebook(*entries: list[dict], standby: list[dict] | None = None) -> tuple[bytes, dict[str, str]]:
    """A Messenger delivery: one `entry` per list of `messaging` events (batched when several)."""
    now = int(time.time() * 1000)
    items = [{"id": PAGE_ID, "time": now, "messaging": events} for events in entries]
    if standby:
        items.append({"id": PAGE_ID, "time": now, "standby": standby})
    body = json.dumps({"object": "page", "entry": items}, ensure_ascii=False).encode()
    return body, {"X-Hub-Signature-256": facebook_signature(body), "Content-Type": "application/json"}


def signed_raw(platform: str, body: bytes) -> dict[str, str]:
    """Headers that sign an arbitrary body (e.g. malformed JSON) for platforms whose MAC allows it."""
    if platform == "facebook":
        return {"X-Hub-Signature-256": facebook_signature(body)}
    return {"X-Bot-Api-Secret-Token": BOT_SECRET}
