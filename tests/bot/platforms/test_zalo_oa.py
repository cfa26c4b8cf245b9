"""Zalo OA adapter: the webhook signature, 1:1 and GMF group events, sends, token refresh, group list."""

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from deliveries import raw_sample, sample
from http_doubles import mock_client

from bot.messages import Attachment, ChatKind, IncomingMessage, OutgoingMessage
from bot.platforms.base import Rejected, SendError, Sent, TokenGrant
from bot.platforms.zalo_oa import ZaloOA, strip_mentions

pytestmark = pytest.mark.anyio  # the async tests run on asyncio; plain tests are unaffected

APP_ID = "2553928453557884079"
SECRET = "TEST_OA_SECRET"
OA_ID = "3662729599332560487"
USER = "6142494823000000001"
GROUP = "f414c8f76fa586fbdfb4"
MEMBER = "8756287263669629130"
# platforms.md §1.2: sha256(app_id + body of zalo_oa_user_send_text.json + timestamp + secret)
VECTOR = "fb1f0db4568e1eb6a22b96e5273ae16003475f34a4436641da56378d151e9261"


def zalo(**overrides) -> ZaloOA:
    options = dict(
        api_base="https://zalo.test",
        oauth_base="https://oauth.test",
        app_secret="APP_SECRET",
        oa_id=OA_ID,
        bot_names=("trợ lý số",),
    )
    return ZaloOA(APP_ID, SECRET, **(options | overrides))


def ok(data: dict | None = None) -> httpx.Response:
    return httpx.Response(200, json={"error": 0, "message": "Success", "data": data or {"message_id": "m1"}})


def sign(body: bytes, app_id: str = APP_ID, timestamp: str = "1699003881354") -> str:
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + SECRET.encode()).hexdigest()


# --- verify -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [f"mac={VECTOR}", VECTOR, f" mac={VECTOR.upper()} "])
def test_the_documented_vector_is_accepted_with_or_without_the_mac_prefix(header):
    zalo().verify(raw_sample("zalo_oa_user_send_text.json"), {"x-zevent-signature": header})


def test_a_missing_signature_is_401():
    with pytest.raises(Rejected) as caught:
        zalo().verify(raw_sample("zalo_oa_user_send_text.json"), {})
    assert caught.value.status_code == 401


@pytest.mark.parametrize("header", [f"mac={VECTOR[:-1]}0", "mac=", "ZNS", "mac=ünïcode"])
def test_a_wrong_signature_is_403(header):
    with pytest.raises(Rejected) as caught:
        zalo().verify(raw_sample("zalo_oa_user_send_text.json"), {"x-zevent-signature": header})
    assert caught.value.status_code == 403


def test_a_tampered_body_is_403():
    body = raw_sample("zalo_oa_user_send_text.json").replace(b"Ch\xc3\xa0o A4B", b"Ch\xc3\xa0o XXX")
    with pytest.raises(Rejected) as caught:
        zalo().verify(body, {"x-zevent-signature": f"mac={VECTOR}"})
    assert caught.value.status_code == 403


def test_the_signature_covers_the_timestamp_in_the_body():
    body = raw_sample("zalo_oa_user_send_text.json").replace(b"1699003881354", b"1699003881355")
    with pytest.raises(Rejected):
        zalo().verify(body, {"x-zevent-signature": sign(body)})  # signed with the old timestamp
    zalo().verify(body, {"x-zevent-signature": sign(body, timestamp="1699003881355")})


def test_another_apps_event_is_403_even_when_signed_correctly_for_that_app():
    body = raw_sample("zalo_oa_user_send_text.json").replace(APP_ID.encode(), b"1111111111111111111")
    with pytest.raises(Rejected) as caught:
        zalo().verify(body, {"x-zevent-signature": sign(body, app_id="1111111111111111111")})
    assert caught.value.status_code == 403


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_401(body):
    with pytest.raises(Rejected) as caught:
        zalo().verify(body, {"x-zevent-signature": sign(body)})
    assert caught.value.status_code == 401


@pytest.mark.parametrize(("app_id", "secret"), [("", SECRET), (APP_ID, "")])
def test_an_adapter_without_its_signing_secrets_cannot_be_built(app_id, secret):
    with pytest.raises(ValueError):
        ZaloOA(app_id, secret)


# --- parse: 1:1 ---------------------------------------------------------------------------


def test_a_user_text_becomes_a_private_message():
    delivery = zalo().parse(sample("zalo_oa_user_send_text.json"))
    assert delivery.skipped == []
    assert delivery.messages == [
        IncomingMessage(
            platform="zalo",
            chat_id="6142494823xxxxxxxx",
            chat_kind=ChatKind.PRIVATE,
            sender_id="6142494823xxxxxxxx",
            message_id="cb31dff1c39642cc1b83",
            text="Chào A4B",
        )
    ]


MEDIA = "https://example.invalid/zalo"
LINK = "https://example.invalid/bai-viet"


@pytest.mark.parametrize(
    ("name", "text", "attachment"),
    [
        ("zalo_oa_user_send_image.json", "ảnh ruộng lúa nhà tôi", Attachment("image", f"{MEDIA}/photo.jpg")),
        ("zalo_oa_user_send_file.json", "", Attachment("file", f"{MEDIA}/file.pdf")),
        ("zalo_oa_user_send_link.json", LINK, Attachment("link", LINK)),
        ("zalo_oa_user_send_sticker.json", "", Attachment("sticker", f"{MEDIA}/sticker.png")),
    ],
)
def test_media_messages_carry_their_attachment(name, text, attachment):
    (message,) = zalo().parse(sample(name)).messages
    assert (message.chat_id, message.sender_id, message.chat_kind) == (USER, USER, ChatKind.PRIVATE)
    assert message.text == text
    assert message.attachments == (attachment,)
    assert message.message_id == sample(name)["message"]["msg_id"]


def test_a_gif_is_an_image_and_a_location_has_no_url():
    payload = sample("zalo_oa_user_send_image.json")
    payload["message"]["attachments"] = [
        {"type": "gif", "payload": {"url": "https://example.invalid/a.gif"}},
        {"type": "location", "payload": {"coordinates": {"latitude": "21.0", "longitude": "105.8"}}},
    ]
    (message,) = zalo().parse(payload).messages
    assert message.attachments == (Attachment("image", "https://example.invalid/a.gif"), Attachment("location", None))


@pytest.mark.parametrize("quote", [{"quote_msg_id": "q1"}, {"quote_msg": {"msg_id": "q1", "text": "…"}}])
def test_a_quoted_reply_names_the_quoted_message(quote):
    payload = sample("zalo_oa_user_send_text.json")
    payload["message"] |= quote
    assert zalo().parse(payload).messages[0].reply_to == "q1"


def test_a_sender_name_is_kept_when_zalo_sends_one():
    payload = sample("zalo_oa_user_send_text.json")
    payload["sender"]["display_name"] = "Bà Tư"
    assert zalo().parse(payload).messages[0].sender_name == "Bà Tư"


def test_without_a_msg_id_the_message_id_is_built_stably_from_the_event():
    payload = sample("zalo_oa_user_send_text.json")
    del payload["message"]["msg_id"]
    first, again = zalo().parse(payload).messages[0], zalo().parse(payload).messages[0]
    assert first.message_id == again.message_id == "user_send_text:1699003881354:6142494823xxxxxxxx"


def test_ids_sent_as_numbers_become_strings():
    payload = sample("zalo_oa_user_send_text.json")
    payload["sender"]["id"] = 6142494823000000001
    assert zalo().parse(payload).messages[0].chat_id == USER


@pytest.mark.parametrize(
    ("name", "event"), [("zalo_oa_follow.json", "follow"), ("zalo_oa_unfollow.json", "unfollow")]
)
def test_follow_and_unfollow(name, event):
    (message,) = zalo().parse(sample(name)).messages
    timestamp = sample(name)["timestamp"]
    assert (message.event, message.chat_id, message.sender_id) == (event, USER, USER)
    assert message.message_id == f"{event}:{USER}:{timestamp}"
    assert message.chat_kind == ChatKind.PRIVATE


# --- parse: GMF groups ---------------------------------------------------------------------


def group_text(text: str) -> dict:
    payload = sample("gmf_webhook_user_send_group_text_INFERRED.json")
    payload["message"]["text"] = text
    return payload


def test_a_group_message_is_addressed_to_the_group_from_its_member():
    (message,) = zalo().parse(sample("gmf_webhook_user_send_group_text_INFERRED.json")).messages
    assert (message.chat_id, message.chat_kind, message.sender_id) == (GROUP, ChatKind.GROUP, MEMBER)
    assert message.text == "Mai mấy giờ họp thôn ạ?"
    assert message.mentions_bot is False


def test_recipient_group_id_wins_over_recipient_id():
    payload = group_text("hỏi")
    payload["recipient"] = {"id": OA_ID, "group_id": GROUP}
    assert zalo().parse(payload).messages[0].chat_id == GROUP


def test_an_inline_mention_of_the_oa_addresses_the_bot_and_is_stripped():
    (message,) = zalo().parse(group_text(f"[@{OA_ID}]  mai mấy giờ họp thôn ạ?")).messages
    assert message.mentions_bot is True
    assert message.text == "mai mấy giờ họp thôn ạ?"


def test_the_bots_name_without_diacritics_addresses_the_bot():
    assert zalo().parse(group_text("tro ly so oi, mai hop may gio?")).messages[0].mentions_bot is True


def test_mentions_of_other_members_are_stripped_but_do_not_address_the_bot():
    official = sample("gmf_send_mention_request.json")["body"]["message"]["text"]
    (message,) = zalo().parse(group_text(official)).messages
    assert message.text == "hello and from GroupAPI"
    assert message.mentions_bot is False


def test_a_group_message_without_oa_id_configured_is_addressed_only_by_name():
    adapter = zalo(oa_id=None)
    assert adapter.parse(group_text(f"[@{OA_ID}] hỏi")).messages[0].mentions_bot is False
    assert adapter.parse(group_text("Trợ lý số ơi")).messages[0].mentions_bot is True


# --- parse: echoes -------------------------------------------------------------------------


def echo(event: str, recipient: dict, **sender) -> dict:
    return {
        "app_id": APP_ID,
        "event_name": event,
        "timestamp": "1699003990000",
        "sender": {"id": OA_ID, **sender},
        "recipient": recipient,
        "message": {"msg_id": "e1", "text": "Dạ, cán bộ thôn trả lời"},
    }


def test_an_echo_typed_by_an_admin_in_the_oa_chat_tool_is_human():
    (message,) = zalo().parse(echo("oa_send_text", {"id": USER}, admin_id="777")).messages
    assert (message.event, message.from_human) == ("echo", True)
    assert (message.chat_id, message.sender_id, message.chat_kind) == (USER, OA_ID, ChatKind.PRIVATE)


def test_an_echo_of_an_api_send_is_not_human():
    (message,) = zalo().parse(echo("oa_send_text", {"id": USER})).messages
    assert (message.event, message.from_human, message.mentions_bot) == ("echo", False, False)


def test_a_group_echo_belongs_to_the_group():
    (message,) = zalo().parse(echo("oa_send_group_text", {"id": GROUP}, admin_id="777")).messages
    assert (message.chat_id, message.chat_kind, message.event, message.from_human) == (
        GROUP,
        ChatKind.GROUP,
        "echo",
        True,
    )


# --- parse: skipped and garbage ---------------------------------------------------------------


@pytest.mark.parametrize(
    "event", ["user_seen_message", "user_received_message", "user_join_group", "oa_reacted_message", "brand_new_event"]
)
def test_events_we_do_not_handle_are_skipped_by_name(event):
    payload = sample("zalo_oa_user_send_text.json") | {"event_name": event}
    assert zalo().parse(payload).messages == []
    assert zalo().parse(payload).skipped == [event]


GARBAGE = [
    None,
    [],
    "user_send_text",
    42,
    {},
    {"event_name": 5},
    {"event_name": "user_send_text"},
    {"event_name": "user_send_text", "sender": "6142494823000000001"},
    {"event_name": "user_send_text", "sender": {"id": ["x"]}},
    {"event_name": "user_send_text", "sender": {"id": True}},
    {"event_name": "follow", "follower": None},
    {"event_name": "oa_send_text", "sender": {"id": OA_ID}, "recipient": 12.5},
    {"event_name": "user_send_group_text", "sender": {"id": MEMBER}, "recipient": {}},
]


@pytest.mark.parametrize("payload", GARBAGE)
def test_garbage_is_skipped_never_raised(payload):
    delivery = zalo().parse(payload)
    assert delivery.messages == []
    assert len(delivery.skipped) == 1


@pytest.mark.parametrize(
    "message",
    [
        None,
        "text",
        [],
        {"text": 5, "msg_id": {}, "attachments": {"type": "image"}},
        {"attachments": [None, 3, {"type": 7}, {"type": "image", "payload": "x"}]},
    ],
)
def test_odd_message_fields_still_give_a_message(message):
    payload = sample("zalo_oa_user_send_text.json") | {"message": message}
    (parsed,) = zalo().parse(payload).messages
    assert parsed.text == ""
    assert all(a.kind == "image" and a.url is None for a in parsed.attachments)


def test_strip_mentions_leaves_plain_text_alone_and_removes_nested_tricks():
    assert strip_mentions("Số 1\n  thụt lề") == "Số 1\n  thụt lề"
    assert strip_mentions("a [@[@1]] b") == "a b"
    assert strip_mentions("dòng [@1] một\ndòng hai [@2]") == "dòng một\ndòng hai"


# --- send ------------------------------------------------------------------------------------

async def test_a_private_reply_is_a_cs_message_with_the_access_token_header():
    client, calls = mock_client(httpx.Response(200, json=sample("zalo_oa_api_success_response.json")))
    out = OutgoingMessage("zalo", "2468458835296197922", ChatKind.PRIVATE, "text_message")
    sent = await zalo().send(client, out, "TOKEN")
    (call,) = calls
    assert (call.method, str(call.url)) == ("POST", "https://zalo.test/v3.0/oa/message/cs")
    assert call.headers["access_token"] == "TOKEN"
    assert "authorization" not in call.headers
    assert json.loads(call.content) == sample("zalo_oa_send_cs_text_request.json")
    assert sent == Sent(("9b1d2c3e4f5a6b7c8d9e",))


async def test_a_private_reply_to_a_message_quotes_it():
    client, calls = mock_client(ok())
    user, quoted = "2468458835296197922", "93f8c4b28f589705ce4a"
    out = OutgoingMessage("zalo", user, ChatKind.PRIVATE, "quote message", reply_to=quoted)
    await zalo().send(client, out, "TOKEN")
    assert json.loads(calls[0].content) == sample("zalo_oa_send_cs_quote_request.json")


async def test_a_group_reply_goes_to_the_gmf_endpoint_as_documented():
    official = sample("gmf_send_text_request.json")
    client, calls = mock_client(httpx.Response(200, json=sample("gmf_send_text_response.json")["response"]))
    out = OutgoingMessage("zalo", GROUP, ChatKind.GROUP, "hello from Zalo")
    sent = await zalo().send(client, out, "TOKEN")
    (call,) = calls
    assert call.url.path == urlsplit(official["url"]).path == "/v3.0/oa/group/message"
    assert str(call.url) == "https://zalo.test/v3.0/oa/group/message"
    assert call.headers["access_token"] == "TOKEN"
    assert json.loads(call.content) == official["body"]
    assert sent == Sent(("81d74a9cd71d6f473608",))


async def test_a_group_reply_mentions_the_asker_and_drops_any_relayed_mention():
    client, calls = mock_client(ok())
    text = "Dạ [@123456] họp lúc 19h [@f414c8f76fa586fbdfb4] tại nhà văn hoá."
    out = OutgoingMessage("zalo", GROUP, ChatKind.GROUP, text, mention_user_id=MEMBER)
    await zalo().send(client, out, "TOKEN")
    body = json.loads(calls[0].content)
    assert body == {
        "recipient": {"group_id": GROUP},
        "message": {"text": f"[@{MEMBER}] Dạ họp lúc 19h tại nhà văn hoá."},
    }


async def test_a_long_group_reply_is_sent_in_order_and_only_the_first_part_mentions():
    sentence = "Hồ sơ nộp tại bộ phận một cửa của xã. "
    text = sentence * 120  # about 4,500 characters
    client, calls = mock_client(ok({"message_id": "p1"}), ok({"message_id": "p2"}), ok({"message_id": "p3"}))
    out = OutgoingMessage("zalo", GROUP, ChatKind.GROUP, text, mention_user_id=MEMBER)
    sent = await zalo().send(client, out, "TOKEN")
    texts = [json.loads(c.content)["message"]["text"] for c in calls]
    assert sent == Sent(("p1", "p2", "p3"))
    assert all(len(t) <= 2000 for t in texts)
    assert texts[0].startswith(f"[@{MEMBER}] Hồ sơ")
    assert not any("[@" in t for t in texts[1:])
    assert "".join(texts).replace(f"[@{MEMBER}] ", "").replace(" ", "") == text.replace(" ", "")


async def test_a_group_reply_that_is_only_mentions_is_not_sent():
    client, calls = mock_client()
    with pytest.raises(SendError) as caught:
        await zalo().send(client, OutgoingMessage("zalo", GROUP, ChatKind.GROUP, "[@1] [@2]"), "TOKEN")
    assert caught.value.transient is False
    assert calls == []


def zalo_error(code: int, message: str) -> httpx.Response:
    return httpx.Response(200, json={"error": code, "message": message})


@pytest.mark.parametrize(
    ("reply", "transient", "token_expired", "retry_after"),
    [
        (zalo_error(-216, "Access token is invalid"), True, True, None),
        (zalo_error(-124, "Access token expired"), True, True, None),
        (zalo_error(-14, "The access token has expired, please refresh"), True, True, None),
        (zalo_error(-230, "User has not interacted with the OA in the past 7 days"), False, False, None),
        (zalo_error(-213, "User has not followed the OA"), False, False, None),
        (zalo_error(-201, "Parameters are invalid"), False, False, None),
        (zalo_error(-224, "OA has not bought the package"), False, False, None),
        (zalo_error(-237, "Group is disabled"), False, False, None),
        (zalo_error(-32, "Exceeded request per minute"), True, False, None),
        (httpx.Response(200, json={"error": "-216", "message": ""}), True, True, None),
        (httpx.Response(500, text="oops"), True, False, None),
        (httpx.Response(503, headers={"Retry-After": "12"}), True, False, 12.0),
        (httpx.Response(429, headers={"Retry-After": "7"}), True, False, 7.0),
        (httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), True, False, 0.0),
        (httpx.Response(429, headers={"Retry-After": "soon"}), True, False, None),
        (httpx.Response(404, text="not found"), False, False, None),
        (httpx.Response(200, text="<html>proxy</html>"), True, False, None),
        (httpx.ReadTimeout("slow"), True, False, None),
        (httpx.ConnectError("refused"), True, False, None),
    ],
)
async def test_send_errors_are_classified(reply, transient, token_expired, retry_after):
    client, _ = mock_client(reply)
    with pytest.raises(SendError) as caught:
        await zalo().send(client, OutgoingMessage("zalo", USER, ChatKind.PRIVATE, "chào"), "TOKEN")
    error = caught.value
    assert (error.transient, error.token_expired, error.retry_after) == (transient, token_expired, retry_after)


async def test_a_zalo_error_keeps_its_code():
    client, _ = mock_client(zalo_error(-216, "Access token is invalid"))
    with pytest.raises(SendError) as caught:
        await zalo().send(client, OutgoingMessage("zalo", USER, ChatKind.PRIVATE, "chào"), "TOKEN")
    assert caught.value.code == -216
    assert "-216" in caught.value.reason


async def test_without_an_access_token_nothing_is_sent_and_a_refresh_is_asked_for():
    client, calls = mock_client()
    with pytest.raises(SendError) as caught:
        await zalo().send(client, OutgoingMessage("zalo", USER, ChatKind.PRIVATE, "chào"), None)
    assert caught.value.token_expired is True
    assert calls == []


# --- refresh ---------------------------------------------------------------------------------


@pytest.mark.parametrize("expires_in", ["90000", 90000])
async def test_refresh_posts_the_documented_form_and_reads_the_new_pair(expires_in):
    reply = httpx.Response(200, json={"access_token": "A2", "refresh_token": "R2", "expires_in": expires_in})
    client, calls = mock_client(reply)
    grant = await zalo().refresh(client, "R1")
    (call,) = calls
    assert (call.method, str(call.url)) == ("POST", "https://oauth.test/v4/oa/access_token")
    assert call.headers["secret_key"] == "APP_SECRET"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(call.content.decode()) == {
        "refresh_token": ["R1"],
        "app_id": [APP_ID],
        "grant_type": ["refresh_token"],
    }
    assert grant == TokenGrant(access_token="A2", refresh_token="R2", expires_in=90000)


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        (httpx.Response(200, json={"error": -14014, "error_name": "Invalid refresh token"}), False),
        (httpx.Response(200, json={"access_token": "A2"}), False),
        (httpx.Response(400, json={"error": -14002}), False),
        (httpx.Response(502), True),
        (httpx.ConnectTimeout("slow"), True),
    ],
)
async def test_a_failed_refresh_says_whether_to_retry_or_to_ask_for_consent(reply, transient):
    client, _ = mock_client(reply)
    with pytest.raises(SendError) as caught:
        await zalo().refresh(client, "R1")
    assert caught.value.transient is transient
    assert caught.value.token_expired is not transient
    assert "R1" not in caught.value.reason


async def test_refresh_without_the_app_secret_is_refused_before_any_call():
    client, calls = mock_client()
    with pytest.raises(SendError):
        await zalo(app_secret=None).refresh(client, "R1")
    assert calls == []


# --- list_groups -----------------------------------------------------------------------------

EXPECTED_GROUPS = [
    {
        "group_id": "f414c8f76fa586fbdfb4",
        "name": "Tư vấn nha khoa nhân viên",
        "total_member": 2,
        "status": "enabled",
        "group_link": "https://zalo.me/g/ikvhur409",
    },
    {
        "group_id": "aee702d6bc8455da0c95",
        "name": "b53",
        "total_member": 2,
        "status": "enabled",
        "group_link": "https://zalo.me/g/ylegxq050",
    },
]


async def test_list_groups_reads_the_documented_response():
    client, calls = mock_client(httpx.Response(200, json=sample("gmf_getgroupsofoa_response.json")["response"]))
    groups = await zalo().list_groups(client, "TOKEN")
    assert groups == EXPECTED_GROUPS
    (call,) = calls
    assert call.url.path == urlsplit(sample("gmf_getgroupsofoa_request.json")["url"]).path
    assert call.headers["access_token"] == "TOKEN"
    assert dict(call.url.params) == {"offset": "0", "count": "50"}


async def test_list_groups_pages_through_every_group():
    template = sample("gmf_getgroupsofoa_response.json")["response"]["data"]["groups"][0]
    names = [f"Thôn {i}" for i in range(5)]
    groups = [template | {"group_id": f"g{i}", "name": name} for i, name in enumerate(names)]

    def page(items):
        return ok({"offset": 0, "count": 2, "total": 5, "groups": items})

    client, calls = mock_client(page(groups[0:2]), page(groups[2:4]), page(groups[4:5]))
    found = await zalo().list_groups(client, "TOKEN", page_size=2)
    assert [g["name"] for g in found] == names
    assert [dict(c.url.params) for c in calls] == [
        {"offset": "0", "count": "2"},
        {"offset": "2", "count": "2"},
        {"offset": "4", "count": "2"},
    ]


async def test_list_groups_stops_at_the_total_and_on_an_empty_page():
    full = ok({"total": 2, "groups": [{"group_id": "a"}, {"group_id": "b"}]})
    client, calls = mock_client(full)
    assert [g["group_id"] for g in await zalo().list_groups(client, "TOKEN", page_size=2)] == ["a", "b"]
    assert len(calls) == 1
    client, calls = mock_client(ok({"groups": [{"group_id": "a"}, {"group_id": "b"}]}), ok({"groups": []}))
    assert len(await zalo().list_groups(client, "TOKEN", page_size=2)) == 2
    assert len(calls) == 2


async def test_list_groups_raises_zalo_errors():
    client, _ = mock_client(zalo_error(-224, "OA has not bought the package"))
    with pytest.raises(SendError) as caught:
        await zalo().list_groups(client, "TOKEN")
    assert caught.value.code == -224
