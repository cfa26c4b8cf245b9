"""Messenger adapter: the subscription handshake, signed batches (messaging and standby), the Send API."""

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from deliveries import raw_sample, sample
from http_doubles import mock_client

from bot.messages import Attachment, ChatKind, IncomingMessage, OutgoingMessage
from bot.platforms.base import Rejected, SendError, Sent
from bot.platforms.facebook import PAGE_INBOX_APP_ID, Facebook

pytestmark = pytest.mark.anyio  # the async tests run on asyncio; plain tests are unaffected

OUR_APP = "1517776481860111"  # the app id in the official echo example
# platforms.md §3.2: HMAC_SHA256("key", "The quick brown fox jumps over the lazy dog")
FOX = b"The quick brown fox jumps over the lazy dog"
FOX_MAC = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def facebook(**overrides) -> Facebook:
    options = dict(
        app_secret="key",
        verify_token="meatyhamhock",
        page_token="PAGE_TOKEN",
        graph_base="https://graph.test",
        app_id=OUR_APP,
    )
    return Facebook(**(options | overrides))


def page(*events: dict, channel: str = "messaging") -> dict:
    return {"object": "page", "entry": [{"id": "<PAGE_ID>", "time": 1, channel: list(events)}]}


# --- the GET handshake -----------------------------------------------------------------------


def official_query() -> dict[str, str]:
    """The query of the official sample request in messenger_verify_get.txt."""
    line = next(l for l in raw_sample("messenger_verify_get.txt").decode().splitlines() if l.startswith("GET "))
    return dict(parse_qsl(urlsplit(line.split()[1]).query))


def test_the_official_handshake_echoes_the_challenge():
    assert facebook().verify_subscription(official_query()) == "1158201444"


@pytest.mark.parametrize(
    "change",
    [
        {"hub.verify_token": "meatyhamhoc"},
        {"hub.verify_token": ""},
        {"hub.mode": "unsubscribe"},
        {"hub.challenge": ""},
    ],
)
def test_a_wrong_handshake_is_403(change):
    with pytest.raises(Rejected) as caught:
        facebook().verify_subscription(official_query() | change)
    assert caught.value.status_code == 403


@pytest.mark.parametrize("missing", [{"verify_token": ""}, {"app_secret": ""}])
def test_an_adapter_without_its_secrets_cannot_be_built(missing):
    with pytest.raises(ValueError):
        facebook(**missing)


# --- the POST signature ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [f"sha256={FOX_MAC}", f"sha256={FOX_MAC.upper()}", f"SHA256={FOX_MAC}"])
def test_the_documented_hmac_vector_is_accepted(header):
    facebook().verify(FOX, {"x-hub-signature-256": header})


def test_a_missing_signature_is_401():
    with pytest.raises(Rejected) as caught:
        facebook().verify(FOX, {"x-hub-signature": "sha1=whatever"})
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (FOX, f"sha256={FOX_MAC[:-1]}9"),
        (FOX, FOX_MAC),  # the scheme is required
        (FOX, f"sha1={FOX_MAC}"),
        (FOX + b".", f"sha256={FOX_MAC}"),  # tampered body
        (FOX, "sha256=ž"),
    ],
)
def test_a_wrong_signature_is_403(body, header):
    with pytest.raises(Rejected) as caught:
        facebook().verify(body, {"x-hub-signature-256": header})
    assert caught.value.status_code == 403


def test_the_signature_is_over_the_raw_bytes_not_a_reserialisation():
    body = raw_sample("messenger_webhook_standby.json")  # raw UTF-8 Vietnamese
    header = "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest()
    facebook().verify(body, {"x-hub-signature-256": header})
    with pytest.raises(Rejected):
        facebook().verify(json.dumps(json.loads(body)).encode(), {"x-hub-signature-256": header})


# --- parse -----------------------------------------------------------------------------------


def test_a_text_message_becomes_a_private_message_from_the_psid():
    delivery = facebook().parse(sample("messenger_webhook_text.json"))
    assert delivery.skipped == []
    assert delivery.messages == [
        IncomingMessage(
            platform="facebook",
            chat_id="<PSID>",
            chat_kind=ChatKind.PRIVATE,
            sender_id="<PSID>",
            message_id="mid.1457764197618:41d102a3e1ae206a38",
            text="hello, world!",
        )
    ]


def test_a_standby_message_is_marked_standby():
    (message,) = facebook().parse(sample("messenger_webhook_standby.json")).messages
    assert (message.event, message.text, message.message_id) == (
        "standby",
        "tin nhắn khi Page Inbox đang giữ hội thoại",
        "m_abc",
    )


def test_a_batch_yields_every_entry_from_messaging_and_standby_in_order():
    first = sample("messenger_webhook_text.json")["entry"][0]
    first["standby"] = sample("messenger_webhook_standby.json")["entry"][0]["standby"]
    handover = {
        "id": "<PAGE_ID>",
        "time": 2,
        "messaging": [
            sample("messenger_event_pass_thread_control.json"),
            sample("messenger_event_postback.json"),
            {"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "delivery": {"mids": ["x"]}},
            sample("messenger_event_take_thread_control.json"),
            {"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "read": {"watermark": 1}},
        ],
    }
    batch = {"object": "page", "entry": [first, sample("messenger_entry_attachment.json"), handover]}
    delivery = facebook().parse(batch)
    assert [(m.event, m.message_id) for m in delivery.messages] == [
        ("message", "mid.1457764197618:41d102a3e1ae206a38"),
        ("standby", "m_abc"),
        ("message", "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"),
        ("postback", "m_1457764197618:41d102a3e1ae206a38"),
    ]
    assert delivery.skipped == ["pass_thread_control", "delivery", "take_thread_control", "read"]


def test_an_image_attachment_keeps_its_url():
    (message,) = facebook().parse({"object": "page", "entry": [sample("messenger_entry_attachment.json")]}).messages
    assert (message.text, message.attachments) == ("", (Attachment("image", "<ATTACHMENT_URL>"),))


def test_a_sticker_arrives_as_an_image_with_a_sticker_id():
    event = sample("messenger_webhook_text.json")["entry"][0]["messaging"][0]
    like = {"url": "https://x.invalid/like.png", "sticker_id": 369239263222822}
    event["message"] = {"mid": "m_like", "attachments": [{"type": "image", "payload": like}]}
    (message,) = facebook().parse(page(event)).messages
    assert message.attachments == (Attachment("sticker", "https://x.invalid/like.png"),)


def test_a_reply_names_the_message_it_answers():
    (message,) = facebook().parse(page(sample("messenger_event_reply.json"))).messages
    assert message.reply_to == "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"


def test_a_quick_reply_keeps_the_text_the_user_tapped():
    (message,) = facebook().parse(page(sample("messenger_event_text_quick_reply.json"))).messages
    assert (message.text, message.event) == ("hello, world!", "message")


def test_a_postback_carries_its_title():
    (message,) = facebook().parse(page(sample("messenger_event_postback.json"))).messages
    assert (message.event, message.text, message.chat_id) == ("postback", "TITLE-FOR-THE-CTA", "<PSID>")


def test_a_postback_without_mid_gets_a_stable_id():
    event = sample("messenger_event_postback.json")
    del event["postback"]["mid"]
    ids = {facebook().parse(page(event)).messages[0].message_id for _ in range(2)}
    assert ids == {"postback:<PSID>:1458692752478"}


def test_a_postback_on_standby_is_not_for_us_to_answer():
    (message,) = facebook().parse(page(sample("messenger_event_postback.json"), channel="standby")).messages
    assert message.event == "standby"


# --- echoes ----------------------------------------------------------------------------------


def echo_with(app_id: object = ...) -> dict:
    event = sample("messenger_event_echo.json")
    if app_id is ...:
        del event["message"]["app_id"]
    else:
        event["message"]["app_id"] = app_id
    return page(event)


def test_an_echo_of_our_own_send_is_not_human():
    (message,) = facebook().parse(page(sample("messenger_event_echo.json"))).messages
    assert (message.event, message.from_human) == ("echo", False)
    assert (message.chat_id, message.sender_id) == ("<PSID>", "<PAGE_ID>")  # the chat is the user's


@pytest.mark.parametrize(("app_id", "human"), [(..., True), (PAGE_INBOX_APP_ID, True), (999, True), (OUR_APP, False)])
def test_an_echo_from_the_inbox_or_another_app_is_human(app_id, human):
    assert facebook().parse(echo_with(app_id)).messages[0].from_human is human


@pytest.mark.parametrize(("app_id", "human"), [(..., True), (int(PAGE_INBOX_APP_ID), True), (999, False)])
def test_without_our_app_id_only_the_inbox_counts_as_human(app_id, human):
    assert facebook(app_id=None).parse(echo_with(app_id)).messages[0].from_human is human


# --- garbage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "skipped"),
    [
        (None, ["malformed"]),
        ([], ["malformed"]),
        ("page", ["malformed"]),
        ({}, ["object:missing"]),
        ({"object": "instagram", "entry": []}, ["object:instagram"]),
        ({"object": "page"}, []),
        ({"object": "page", "entry": "x"}, []),
        ({"object": "page", "entry": [None, 5, {"messaging": "x", "standby": {}}]}, []),
        (page(None, 3, "x"), ["malformed", "malformed", "malformed"]),
        (page({}), ["unknown"]),
        (page({"sender": {"id": 5}, "message": {"text": "no recipient"}}), ["message"]),
        (page({"sender": "x", "recipient": {"id": "p"}, "message": {"text": "hi"}}), ["message"]),
        (page({"sender": {"id": "u"}, "recipient": {"id": "p"}, "message": "hi"}), ["message"]),
        (page({"sender": {"id": "u"}, "recipient": {"id": "p"}, "postback": None}), ["postback"]),
    ],
)
def test_garbage_is_skipped_never_raised(payload, skipped):
    delivery = facebook().parse(payload)
    assert (delivery.messages, delivery.skipped) == ([], skipped)


def test_odd_field_types_do_not_leak_into_the_message():
    event = {
        "sender": {"id": 123},
        "recipient": {"id": "p"},
        "timestamp": "x",
        "message": {"mid": 5, "text": {"a": 1}, "reply_to": "m", "attachments": [None, {"type": 1}, {"type": "file"}]},
    }
    (message,) = facebook().parse(page(event)).messages
    assert (message.chat_id, message.message_id, message.text, message.reply_to) == ("123", "5", "", None)
    assert message.attachments == (Attachment("file", None),)


# --- send ------------------------------------------------------------------------------------


async def test_a_reply_posts_the_documented_body_with_the_page_token():
    client, calls = mock_client(httpx.Response(200, json=sample("messenger_send_response.json")))
    sent = await facebook().send(client, OutgoingMessage("facebook", "<PSID>", ChatKind.PRIVATE, "hello,world"))
    (call,) = calls
    assert (call.method, str(call.url)) == ("POST", "https://graph.test/v21.0/me/messages")
    assert call.headers["authorization"] == "Bearer PAGE_TOKEN"
    assert json.loads(call.content) == sample("messenger_send_text_request.json")
    assert sent == Sent(("AG5Hz2U...",))


async def test_the_graph_version_is_configurable_and_a_given_token_wins():
    client, calls = mock_client(httpx.Response(200, json={"recipient_id": "u", "message_id": "m"}))
    adapter = facebook(graph_version="v19.0")
    await adapter.send(client, OutgoingMessage("facebook", "u", ChatKind.PRIVATE, "chào"), "OTHER")
    assert str(calls[0].url) == "https://graph.test/v19.0/me/messages"
    assert calls[0].headers["authorization"] == "Bearer OTHER"


async def test_a_long_reply_goes_out_in_parts_under_2000_characters():
    text = "\n\n".join(f"Bước {i}: " + "điền thông tin vào tờ khai. " * 30 for i in range(1, 6))
    replies = [httpx.Response(200, json={"message_id": f"m{i}"}) for i in range(10)]
    client, calls = mock_client(*replies)
    sent = await facebook().send(client, OutgoingMessage("facebook", "u", ChatKind.PRIVATE, text))
    texts = [json.loads(c.content)["message"]["text"] for c in calls]
    assert len(texts) > 1 and all(len(t) <= 2000 for t in texts)
    assert sent.platform_message_ids == tuple(f"m{i}" for i in range(len(texts)))
    assert "".join(texts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def graph(code: int, status: int = 400, subcode: int | None = None, **extra) -> httpx.Response:
    error = {"message": "(#%d) something" % code, "type": "OAuthException", "code": code, **extra}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


@pytest.mark.parametrize(
    ("reply", "transient", "token_expired"),
    [
        (httpx.Response(400, json=sample("messenger_graph_error_response.json")), True, False),  # 613
        (graph(4, status=403), True, False),
        (graph(17), True, False),
        (graph(32), True, False),
        (graph(2, status=500), True, False),
        (graph(1200, status=500), True, False),
        (graph(190, status=401), False, True),
        (graph(190, subcode=463), False, True),
        (graph(551), False, False),
        (graph(10, subcode=2018278, status=403), False, False),
        (graph(100), False, False),
        (graph(200, status=403), False, False),
        (graph(230), False, False),
        (graph(368), False, False),  # unknown to the table: the HTTP 400 decides
        (graph(9999, status=503), True, False),  # unknown code, server error
        (graph(9999, is_transient=True), True, False),
        (httpx.Response(500, text="<html>"), True, False),
        (httpx.Response(200, json={"error": {"code": 613}}), True, False),
        (httpx.ReadTimeout("slow"), True, False),
        (httpx.ConnectError("refused"), True, False),
    ],
)
async def test_send_errors_are_classified(reply, transient, token_expired):
    client, _ = mock_client(reply)
    with pytest.raises(SendError) as caught:
        await facebook().send(client, OutgoingMessage("facebook", "u", ChatKind.PRIVATE, "chào"))
    assert (caught.value.transient, caught.value.token_expired) == (transient, token_expired)


async def test_a_rate_limit_passes_on_retry_after_and_the_graph_code():
    client, _ = mock_client(httpx.Response(429, json={"error": {"code": 613}}, headers={"Retry-After": "30"}))
    with pytest.raises(SendError) as caught:
        await facebook().send(client, OutgoingMessage("facebook", "u", ChatKind.PRIVATE, "chào"))
    assert (caught.value.transient, caught.value.retry_after, caught.value.code) == (True, 30.0, 613)


async def test_without_a_page_token_nothing_is_sent():
    client, calls = mock_client()
    with pytest.raises(SendError) as caught:
        await facebook(page_token=None).send(client, OutgoingMessage("facebook", "u", ChatKind.PRIVATE, "chào"))
    assert (caught.value.transient, caught.value.token_expired) == (False, False)
    assert calls == []
