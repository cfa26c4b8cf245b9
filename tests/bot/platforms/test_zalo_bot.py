"""Zalo Bot platform adapter: the secret-token header, updates, sendMessage and its errors."""

import json

import httpx
import pytest

from deliveries import sample
from http_doubles import mock_client

from bot.messages import Attachment, ChatKind, IncomingMessage, OutgoingMessage
from bot.platforms.base import Rejected, SendError, Sent
from bot.platforms.zalo_bot import ZaloBot

pytestmark = pytest.mark.anyio  # the async tests run on asyncio; plain tests are unaffected

CHAT = "e4ea2cd5189df1c3a88c"
TOKEN = "1459232241454765289:secretpart"


def bot(**overrides) -> ZaloBot:
    options = dict(token=TOKEN, secret_token="mykey-abcxyz", api_base="https://bot.test", bot_names=("trợ lý số",))
    return ZaloBot(**(options | overrides))


# --- verify -------------------------------------------------------------------------------


def test_the_secret_token_header_is_accepted():
    bot().verify(b"{}", {"x-bot-api-secret-token": "mykey-abcxyz"})


def test_a_missing_secret_token_is_401():
    with pytest.raises(Rejected) as caught:
        bot().verify(b"{}", {})
    assert caught.value.status_code == 401


@pytest.mark.parametrize("given", ["mykey-abcxy", "mykey-abcxyzz", "MYKEY-ABCXYZ", "ключ"])
def test_a_wrong_secret_token_is_403(given):
    with pytest.raises(Rejected) as caught:
        bot().verify(b"{}", {"x-bot-api-secret-token": given})
    assert caught.value.status_code == 403


def test_an_adapter_without_a_secret_token_cannot_be_built():
    with pytest.raises(ValueError):
        bot(secret_token="")


# --- parse --------------------------------------------------------------------------------


def test_a_text_update_becomes_a_private_message():
    delivery = bot().parse(sample("zalo_bot_webhook_text.json"))
    assert delivery.messages == [
        IncomingMessage(
            platform="zalo-bot",
            chat_id=CHAT,
            chat_kind=ChatKind.PRIVATE,
            sender_id=CHAT,
            message_id="16f6366b3f02645a3d15",
            text="Xin chào",
            sender_name="Nguyen Van A",
        )
    ]


def test_an_image_update_carries_the_photo_and_its_caption():
    (message,) = bot().parse(sample("zalo_bot_webhook_image.json")).messages
    assert message.text == "ảnh"
    assert message.attachments == (Attachment("image", "https://example.invalid/photo.jpg"),)
    assert message.message_id == "26f6366b3f02645a3d16"


def test_the_ok_result_wrapper_is_unwrapped():
    (message,) = bot().parse(sample("zalo_bot_getupdates_response.json")).messages
    assert (message.chat_id, message.text, message.sender_name) == (CHAT, "Xin chào", "Nguyen Van A")


def test_a_sticker_and_an_unsupported_message_are_messages_without_text():
    update = sample("zalo_bot_webhook_text.json")
    del update["message"]["text"]
    sticker = update | {"event_name": "message.sticker.received", "message": update["message"] | {"sticker": "s1"}}
    other = update | {"event_name": "message.unsupported.received"}
    assert bot().parse(sticker).messages[0].attachments == (Attachment("sticker"),)
    assert bot().parse(other).messages[0].attachments == (Attachment("unsupported"),)


def test_a_group_chat_and_a_mention_by_name():
    update = sample("zalo_bot_webhook_text.json")
    update["message"]["chat"]["chat_type"] = "GROUP"
    update["message"]["text"] = "Tro ly so oi, lich tiem phong?"
    (message,) = bot().parse(update).messages
    assert (message.chat_kind, message.mentions_bot) == (ChatKind.GROUP, True)


def test_messages_from_bots_are_skipped():
    update = sample("zalo_bot_webhook_text.json")
    update["message"]["from"]["is_bot"] = True
    delivery = bot().parse(update)
    assert (delivery.messages, delivery.skipped) == ([], ["message.text.received"])


def test_without_a_message_id_one_is_built_from_the_event():
    update = sample("zalo_bot_webhook_text.json")
    del update["message"]["message_id"]
    (message,) = bot().parse(update).messages
    assert message.message_id == f"message.text.received:{CHAT}:1766619597466"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "x",
        7,
        [],
        [None],
        {},
        {"ok": True, "result": [None]},
        {"ok": False, "result": None},
        {"event_name": "message.text.received"},
        {"event_name": "message.text.received", "message": {"chat": {"id": CHAT}, "from": "me"}},
        {"event_name": "message.text.received", "message": {"chat": [CHAT], "from": {"id": CHAT}}},
        {"event_name": "message.reaction.received", "message": sample("zalo_bot_webhook_text.json")["message"]},
        {"event_name": 12, "message": 12},
    ],
)
def test_garbage_is_skipped_never_raised(payload):
    delivery = bot().parse(payload)
    assert delivery.messages == []
    assert len(delivery.skipped) == 1


def test_odd_field_types_do_not_leak_into_the_message():
    update = sample("zalo_bot_webhook_text.json")
    update["message"] |= {"text": ["Xin"], "from": {"id": 42, "display_name": {"x": 1}}}
    (message,) = bot().parse(update).messages
    assert (message.text, message.sender_id, message.sender_name) == ("", "42", None)


# --- send ---------------------------------------------------------------------------------


async def test_send_message_posts_the_documented_body_to_the_token_url():
    client, calls = mock_client(httpx.Response(200, json=sample("zalo_bot_sendmessage_response.json")))
    sent = await bot().send(client, OutgoingMessage("zalo-bot", "abc.xyz", ChatKind.PRIVATE, "Hello"))
    (call,) = calls
    assert (call.method, str(call.url)) == ("POST", f"https://bot.test/bot{TOKEN}/sendMessage")
    assert json.loads(call.content) == sample("zalo_bot_sendmessage_request.json")
    assert sent == Sent(("82599fa32f56d00e8941",))


async def test_a_reply_quotes_the_message_on_the_first_part_only():
    reply = {"ok": True, "result": {"message_id": "m"}}
    client, calls = mock_client(httpx.Response(200, json=reply), httpx.Response(200, json=reply))
    out = OutgoingMessage("zalo-bot", CHAT, ChatKind.PRIVATE, "Câu trả lời. " * 200, reply_to="16f6366b3f02645a3d15")
    await bot().send(client, out)
    bodies = [json.loads(c.content) for c in calls]
    assert bodies[0]["reply_to_message_id"] == "16f6366b3f02645a3d15"
    assert "reply_to_message_id" not in bodies[1]
    assert all(len(b["text"]) <= 2000 for b in bodies)


async def test_a_token_given_to_send_overrides_the_configured_one():
    client, calls = mock_client(httpx.Response(200, json={"ok": True, "result": {"message_id": "m"}}))
    await bot(token=None).send(client, OutgoingMessage("zalo-bot", CHAT, ChatKind.PRIVATE, "chào"), "other:token")
    assert str(calls[0].url) == "https://bot.test/botother:token/sendMessage"


def failure(code: int, description: str, status: int | None = None, **headers) -> httpx.Response:
    body = {"ok": False, "error_code": code, "description": description}
    return httpx.Response(status or code, json=body, headers=headers)


@pytest.mark.parametrize(
    ("reply", "transient", "token_expired", "retry_after"),
    [
        (failure(401, "Unauthorized"), False, False, None),  # a bot token cannot be refreshed
        (failure(403, "Forbidden"), False, False, None),
        (failure(400, "Bad Request: text is empty"), False, False, None),
        (failure(429, "Too Many Requests", **{"Retry-After": "3"}), True, False, 3.0),
        (failure(500, "Internal error"), True, False, None),
        (failure(429, "Too Many Requests", status=200), True, False, None),  # the code in the body decides
        (httpx.Response(502, text="bad gateway"), True, False, None),
        (httpx.Response(200, json={"result": {}}), True, False, None),
        (httpx.ReadTimeout("slow"), True, False, None),
    ],
)
async def test_send_errors_are_classified(reply, transient, token_expired, retry_after):
    client, _ = mock_client(reply)
    with pytest.raises(SendError) as caught:
        await bot().send(client, OutgoingMessage("zalo-bot", CHAT, ChatKind.PRIVATE, "chào"))
    error = caught.value
    assert (error.transient, error.token_expired, error.retry_after) == (transient, token_expired, retry_after)
    assert TOKEN not in error.reason  # the token is part of the URL: it must not reach logs


async def test_without_a_token_nothing_is_sent():
    client, calls = mock_client()
    with pytest.raises(SendError) as caught:
        await bot(token=None).send(client, OutgoingMessage("zalo-bot", CHAT, ChatKind.PRIVATE, "chào"))
    assert caught.value.transient is False
    assert calls == []
