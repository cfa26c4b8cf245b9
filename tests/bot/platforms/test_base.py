"""The helpers every adapter reads payloads with: what they give is an id or a text any database stores."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from bot.platforms.base import Rejected, as_id, as_text, storable
from bot.platforms.facebook import Facebook
from bot.platforms.zalo_oa import ZaloOA
from deliveries import APP_ID, OA_SECRET, messenger_event


def test_nul_is_dropped_and_a_lone_surrogate_replaced():
    # json.loads turns "\u0000" and a lone "\ud800" into str; PostgreSQL refuses the first, UTF-8 the second.
    assert storable("quên m\x00ật khẩu \ud800") == "quên mật khẩu \ufffd"
    assert storable("Đà Nẵng 😀") == "Đà Nẵng 😀"


def test_ids_and_texts_are_storable_and_an_id_of_only_nul_is_none():
    assert as_id("m\x00id") == "mid"
    assert as_id("\x00") is None
    assert as_text("B\x00ác \udfff") == "Bác \ufffd"
    assert as_id(10**30) == "1" + "0" * 30


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(st.characters(exclude_categories=())))
def test_whatever_json_carries_comes_out_as_utf8_without_nul(text):
    out = storable(text)
    assert "\x00" not in out
    out.encode("utf-8")
    assert storable(out) == out


def test_a_delivery_with_nul_and_a_lone_surrogate_parses_into_storable_messages():
    event = messenger_event("chào\x00 bạn \ud800", psid="29\x0000")
    body = json.dumps({"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [event]}]})
    [message] = Facebook("secret", "verify", "page").parse(json.loads(body)).messages
    assert (message.text, message.sender_id) == ("chào bạn \ufffd", "2900")


def test_a_zalo_timestamp_with_a_lone_surrogate_is_a_refusal_not_a_crash():
    body = json.dumps({"app_id": APP_ID, "timestamp": "\ud800"}).encode()
    with pytest.raises(Rejected) as refused:
        ZaloOA(APP_ID, OA_SECRET).verify(body, {"x-zevent-signature": "mac=00"})
    assert refused.value.status_code == 403
