"""End to end: signed deliveries posted to the running app; replies arrive at a fake platform over HTTP."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

import deliveries as d
from bot.settings import Settings
from bot.tables import InboxMessage, OutboxMessage, PlatformToken
from main import create_app


@pytest.fixture
def app(live_settings):
    application = create_app(live_settings)
    yield application
    application.state.runtime.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def rows(app, table) -> list:
    with app.state.runtime.session() as s:
        return list(s.exec(select(table).order_by(table.id)).all())


def eventually(check, timeout: float = 5.0) -> bool:
    """True once `check()` holds (the database is written just after the platform answers)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def sent_count(app) -> int:
    with app.state.runtime.session() as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")).one()


def settle(app, seconds: float = 0.3) -> None:
    """Give the worker time to do anything it would wrongly do (a duplicate, a reply to chatter)."""
    time.sleep(seconds)


# --- Zalo OA ------------------------------------------------------------------------------------


def test_a_zalo_question_is_acknowledged_and_answered_in_private(client, fake):
    body, headers = d.zalo("quen mat khau vneid thi lam the nao", sender="u100")
    response = client.post("/webhooks/zalo", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert fake.wait_for(1)
    [sent] = fake.delivered
    assert sent.path == "/v3.0/oa/message/cs" and sent.headers["access_token"] == "za-1"
    assert sent.body["recipient"] == {"user_id": "u100"} and "VNeID" in sent.body["message"]["text"]


def test_a_retried_delivery_is_answered_once(client, fake, app):
    body, headers = d.zalo("dinh danh muc 2 lam o dau", msg_id="dup-1")
    for _ in range(3):
        assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
    assert fake.wait_for(1)
    settle(app)
    assert len(fake.delivered) == 1 and len(rows(app, InboxMessage)) == 1


def test_a_group_question_is_answered_in_the_group_with_a_mention(client, fake):
    body, headers = d.zalo("cho hỏi quên mật khẩu vneid thì lấy lại thế nào ạ", sender="8756287263669629130",
                           group="f414c8f76fa586fbdfb4")
    client.post("/webhooks/zalo", content=body, headers=headers)
    assert fake.wait_for(1)
    [sent] = fake.delivered
    assert sent.path == "/v3.0/oa/group/message"
    assert sent.body["recipient"] == {"group_id": "f414c8f76fa586fbdfb4"}
    assert sent.body["message"]["text"].startswith("[@8756287263669629130] ")


def test_group_chatter_gets_no_reply(client, fake, app):
    for text in ("ok", "Sáng mai 7h họp thôn ở nhà văn hóa nhé mọi người", "hihi cảm ơn cả nhà"):
        body, headers = d.zalo(text, group="f414c8f76fa586fbdfb4")
        client.post("/webhooks/zalo", content=body, headers=headers)
    # One chat's messages are taken one after another: wait for all three, then for any wrong reply.
    assert eventually(lambda: [r.status for r in rows(app, InboxMessage)] == ["done"] * 3, timeout=10)
    settle(app, 0.5)
    assert fake.delivered == []


def test_the_oas_own_echoes_never_trigger_a_reply(client, fake, app):
    body, headers = d.zalo_event({"event_name": "oa_send_text", "sender": {"id": d.OA_ID},
                                  "recipient": {"id": "u1"}, "message": {"msg_id": "e1", "text": "quen mat khau vneid"}})
    assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
    settle(app)
    assert fake.delivered == []


def test_a_new_follower_is_welcomed(client, fake):
    body, headers = d.zalo_event({"event_name": "follow", "oa_id": d.OA_ID, "follower": {"id": "u-new"},
                                  "source": "testing_webhook", "user_id_by_app": "1"})
    client.post("/webhooks/zalo", content=body, headers=headers)
    assert fake.wait_for(1)
    assert fake.delivered[0].body["recipient"] == {"user_id": "u-new"}
    assert "trợ lý số" in fake.delivered[0].body["message"]["text"]


def test_an_unknown_event_is_acknowledged_and_skipped(client, app):
    body, headers = d.zalo_event({"event_name": "change_template_quota", "data": {"x": 1}})
    response = client.post("/webhooks/zalo", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["stored"] == 0


# --- what is refused --------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["missing", "wrong", "tampered"])
def test_a_bad_zalo_signature_is_refused_and_nothing_stored(client, app, change):
    body, headers = d.zalo("quen mat khau vneid")
    if change == "missing":
        del headers["X-ZEvent-Signature"]
    elif change == "wrong":
        headers["X-ZEvent-Signature"] = "mac=" + "0" * 64
    else:
        body = body.replace(b"vneid", b"VNeID")
    response = client.post("/webhooks/zalo", content=body, headers=headers)
    assert response.status_code in (401, 403)
    assert rows(app, InboxMessage) == []


def test_a_signature_without_the_mac_prefix_is_accepted(client):
    body, headers = d.zalo("quen mat khau vneid")
    headers["X-ZEvent-Signature"] = headers["X-ZEvent-Signature"].removeprefix("mac=")
    assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200


def test_bad_zalo_bot_and_messenger_signatures_are_refused(client, app):
    body, headers = d.zalo_bot("xin chao")
    assert client.post("/webhooks/zalo-bot", content=body, headers={"X-Bot-Api-Secret-Token": "nope"}).status_code == 403
    assert client.post("/webhooks/zalo-bot", content=body).status_code == 401
    body, headers = d.facebook([d.messenger_event("xin chao")])
    bad = {"X-Hub-Signature-256": d.facebook_signature(body, "other-secret")}
    assert client.post("/webhooks/facebook", content=body, headers=bad).status_code == 403
    assert client.post("/webhooks/facebook", content=body).status_code == 401
    assert rows(app, InboxMessage) == []


@pytest.mark.parametrize("platform", ["facebook", "zalo-bot"])
def test_malformed_json_is_a_400(client, platform):
    body = b'{"object": "page", "entry": [ '
    response = client.post(f"/webhooks/{platform}", content=body, headers=d.signed_raw(platform, body))
    assert response.status_code == 400


def test_a_body_over_one_megabyte_is_a_413(client, app):
    body, headers = d.zalo("a" * 1_100_000)
    assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 413
    assert rows(app, InboxMessage) == []


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'"text"', b"123", b'{"object": "user"}',
                                  b'{"object": "page", "entry": "x"}', b'{"object": "page", "entry": [null, 1]}'])
def test_odd_but_signed_messenger_bodies_never_cause_a_500(client, body):
    response = client.post("/webhooks/facebook", content=body, headers=d.signed_raw("facebook", body))
    assert response.status_code in (200, 400)


def test_an_unconfigured_platform_is_not_mounted(database_url):
    app = create_app(Settings(database_url=database_url, _env_file=None, seed_admin=False, worker_in_serve=False))
    with TestClient(app) as c:
        body, headers = d.zalo("quen mat khau vneid")
        assert c.post("/webhooks/zalo", content=body, headers=headers).status_code == 404
        assert c.get("/webhooks/facebook").status_code in (404, 405)
    app.state.runtime.engine.dispose()


def test_a_webhook_path_answers_other_methods_like_any_route_and_pages_keep_their_headers(client):
    assert client.get("/webhooks/zalo").status_code == 405
    body, headers = d.zalo("quen mat khau vneid")
    acknowledged = client.post("/webhooks/zalo", content=body, headers=headers)
    assert acknowledged.status_code == 200 and acknowledged.headers["x-request-id"]
    assert "content-security-policy" not in acknowledged.headers  # read by a platform, not a browser
    page = client.get("/healthz")
    assert page.headers["x-request-id"] and page.headers["x-content-type-options"] == "nosniff"


# --- Messenger and Zalo Bot -------------------------------------------------------------------------


def test_the_messenger_subscription_handshake(client):
    ok = client.get("/webhooks/facebook", params={"hub.mode": "subscribe", "hub.verify_token": d.FB_VERIFY_TOKEN,
                                                  "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = client.get("/webhooks/facebook", params={"hub.mode": "subscribe", "hub.verify_token": "x",
                                                   "hub.challenge": "1"})
    assert bad.status_code == 403


def test_every_event_of_a_batched_messenger_delivery_is_answered(client, fake):
    body, headers = d.facebook([d.messenger_event("quen mat khau vneid", psid="p1")],
                               [d.messenger_event("chuyen khoan nham thi sao", psid="p2"),
                                d.messenger_event("bhyt het han gia han o dau", psid="p3")])
    response = client.post("/webhooks/facebook", content=body, headers=headers)
    assert response.json()["stored"] == 3
    assert fake.wait_for(3)
    sent = fake.delivered
    assert sorted(r.body["recipient"]["id"] for r in sent) == ["p1", "p2", "p3"]
    assert all(r.body["messaging_type"] == "RESPONSE" for r in sent)


def test_messages_on_standby_are_stored_but_not_answered(client, fake, app):
    body, headers = d.facebook(standby=[d.messenger_event("quen mat khau vneid", psid="p9")])
    client.post("/webhooks/facebook", content=body, headers=headers)
    settle(app)
    assert fake.delivered == []


def test_a_zalo_bot_message_is_answered_through_send_message(client, fake):
    body, headers = d.zalo_bot("quen mat khau vneid", chat="c-bot")
    assert client.post("/webhooks/zalo-bot", content=body, headers=headers).status_code == 200
    assert fake.wait_for(1)
    [sent] = fake.delivered
    assert sent.path == "/bot123:abc/sendMessage" and sent.body["chat_id"] == "c-bot"


# --- delivery: retries, tokens, failures -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["http500", "http429", "zalo_busy", "timeout"])
def test_a_reply_survives_failed_first_sends_and_arrives_once(client, fake, app, kind):
    fake.fail_next(2, kind)
    body, headers = d.zalo("quen mat khau vneid")
    client.post("/webhooks/zalo", content=body, headers=headers)
    assert fake.wait_for(1, timeout=15)
    assert eventually(lambda: sent_count(app) == 1)
    settle(app)
    assert len(fake.delivered) == 1
    [row] = rows(app, OutboxMessage)
    assert row.status == "sent" and row.attempts == 3


def test_an_expired_zalo_token_is_refreshed_once_and_the_new_tokens_are_stored(client, fake, app):
    fake.expire_zalo_token()
    for n in range(3):
        body, headers = d.zalo("quen mat khau vneid", sender=f"u{n}")
        client.post("/webhooks/zalo", content=body, headers=headers)
    assert fake.wait_for(3, timeout=10)
    refreshes = [r for r in fake.requests if r.platform == "zalo-oauth"]
    assert len(refreshes) == 1 and refreshes[0].body["refresh_token"] == "zr-1"
    with app.state.runtime.session() as s:
        token = s.get(PlatformToken, "zalo")
    assert token.access_token == fake.zalo_access_token and token.refresh_token == fake.zalo_refresh_token
    assert token.refresh_token != "zr-1"


def test_a_permanently_refused_reply_is_kept_with_its_error(client, fake, app):
    fake.fail_next(1, "permanent")
    body, headers = d.zalo("quen mat khau vneid")
    client.post("/webhooks/zalo", content=body, headers=headers)
    assert eventually(lambda: any(r.status == "failed" for r in rows(app, OutboxMessage)))
    [row] = rows(app, OutboxMessage)
    assert "-230" in row.last_error or "interacted" in row.last_error
    assert fake.delivered == []
    text = client.get("/metrics").text
    assert 'troly_outbox_failed_total{platform="zalo",reason="refused"} 1.0' in text
    assert 'troly_send_seconds_count{platform="zalo",result="error"} 1.0' in text


def test_work_left_by_a_killed_process_is_finished_on_start(live_settings, fake):
    stopped = create_app(live_settings.model_copy(update={"worker_in_serve": False}))
    with TestClient(stopped) as c:
        for n in range(3):
            body, headers = d.zalo("quen mat khau vneid", sender=f"k{n}")
            assert c.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
    stopped.state.runtime.engine.dispose()
    assert fake.delivered == []
    restarted = create_app(live_settings)
    with TestClient(restarted):
        assert fake.wait_for(3)
    restarted.state.runtime.engine.dispose()


def test_metrics_count_webhooks_and_deliveries(client, fake):
    body, headers = d.zalo("quen mat khau vneid")
    client.post("/webhooks/zalo", content=body, headers=headers)
    assert fake.wait_for(1)
    time.sleep(0.1)
    text = client.get("/metrics").text
    assert 'troly_webhook_requests_total{platform="zalo",status="200"} 1.0' in text
    assert 'troly_outbox_sent_total{platform="zalo"} 1.0' in text
    assert 'troly_send_seconds_count{platform="zalo",result="ok"} 1.0' in text


def test_counts_in_the_database_match_after_a_burst(client, fake, app):
    for n in range(20):
        body, headers = d.zalo("quen mat khau vneid", sender=f"b{n}")
        client.post("/webhooks/zalo", content=body, headers=headers)
    assert fake.wait_for(20, timeout=15)
    assert eventually(lambda: sent_count(app) == 20)
    settle(app)
    assert len(fake.delivered) == 20


def test_a_messenger_reply_outlives_rate_limits_and_arrives_once(client, fake, app):
    fake.fail_next(2, "fb_rate_limit")
    body, headers = d.facebook([d.messenger_event("quen mat khau vneid", psid="p-rl")])
    client.post("/webhooks/facebook", content=body, headers=headers)
    assert fake.wait_for(1, timeout=10)
    assert eventually(lambda: sent_count(app) == 1)
    settle(app)
    assert [r.body["recipient"]["id"] for r in fake.delivered] == ["p-rl"]
    assert 'troly_outbox_retries_total{platform="facebook",reason="rate_limit"} 2.0' in client.get("/metrics").text
