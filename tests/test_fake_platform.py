"""The fake chat-platform server answers like Zalo OA, Zalo Bot and Messenger, and records it all."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from fake_platform import FailureKind, FakePlatform

Send = Callable[[httpx.Client, str], httpx.Response]


def zalo_cs(client: httpx.Client, text: str, token: str = "za-1") -> httpx.Response:
    body = {"recipient": {"user_id": "2468458835296197922"}, "message": {"text": text}}
    return client.post("/v3.0/oa/message/cs", headers={"access_token": token}, json=body)


def zalo_group(client: httpx.Client, text: str, token: str = "za-1") -> httpx.Response:
    body = {"recipient": {"group_id": "5f0c8e2a9b1d4c7e3a60"}, "message": {"text": text}}
    return client.post("/v3.0/oa/group/message", headers={"access_token": token}, json=body)


def bot_send(client: httpx.Client, text: str, token: str = "123:abc") -> httpx.Response:
    return client.post(f"/bot{token}/sendMessage", json={"chat_id": "abc.xyz", "text": text})


def fb_send(client: httpx.Client, text: str, token: str = "fb-page") -> httpx.Response:
    body = {"recipient": {"id": "PSID-1"}, "messaging_type": "RESPONSE", "message": {"text": text}}
    return client.post("/v21.0/me/messages", headers={"Authorization": f"Bearer {token}"}, json=body)


def refresh(client: httpx.Client, refresh_token: str, secret: str = "app-secret") -> dict[str, Any]:
    form = {"refresh_token": refresh_token, "app_id": "1234", "grant_type": "refresh_token"}
    return client.post("/v4/oa/access_token", headers={"secret_key": secret}, data=form).json()


def error_code(body: dict[str, Any]) -> int:
    """The error number of any platform's refusal: Zalo `error`, Zalo Bot `error_code`, Graph `error.code`."""
    if "ok" in body:
        return body["error_code"]
    return body["error"]["code"] if isinstance(body["error"], dict) else body["error"]


@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    with FakePlatform(timeout_delay=0.5) as server:
        yield server


@pytest.fixture
def client(fake: FakePlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, timeout=5.0) as c:
        yield c


def test_starts_fast_and_stops_without_leaving_a_thread_or_a_port() -> None:
    threads = threading.active_count()
    started = time.perf_counter()
    with FakePlatform() as fake:
        assert time.perf_counter() - started < 1.0
        port = int(fake.base_url.rsplit(":", 1)[1])
        assert httpx.post(f"{fake.base_url}/bot123:abc/sendMessage", json={"chat_id": "1", "text": "a"}).is_success
    assert threading.active_count() == threads
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_stop_ends_a_request_that_is_still_sleeping(fake: FakePlatform) -> None:
    fake.timeout_delay = 30.0
    fake.fail_next(1, "timeout")
    with httpx.Client(base_url=fake.base_url, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        bot_send(client, "chậm")
    started = time.perf_counter()
    fake.stop()
    assert time.perf_counter() - started < 2.0


def test_zalo_sends_answer_the_sample_shapes_with_fresh_ids(fake: FakePlatform, client: httpx.Client) -> None:
    first, second = zalo_cs(client, "Dạ, chào bác").json(), zalo_cs(client, "ạ").json()
    group = zalo_group(client, "Họp thôn").json()
    assert first["error"] == 0 and first["message"] == "Success"
    assert first["data"]["user_id"] == "2468458835296197922"
    assert group["error"] == 0 and group["data"]["group_id"] == "5f0c8e2a9b1d4c7e3a60"
    assert len({first["data"]["message_id"], second["data"]["message_id"], group["data"]["message_id"]}) == 3
    assert fake.texts() == ["Dạ, chào bác", "ạ", "Họp thôn"]
    assert [r.recipient for r in fake.delivered] == ["2468458835296197922"] * 2 + ["5f0c8e2a9b1d4c7e3a60"]


def test_a_wrong_zalo_token_is_refused_in_band_and_recorded(fake: FakePlatform, client: httpx.Client) -> None:
    response = zalo_cs(client, "chào", token="stale")
    assert response.status_code == 200
    assert response.json() == {"error": -216, "message": "Access token is invalid"}
    [record] = fake.requests
    assert (record.platform, record.method, record.path, record.status) == ("zalo", "POST", "/v3.0/oa/message/cs", 200)
    assert record.headers["access_token"] == "stale" and record.text == "chào"
    assert not record.delivered and fake.delivered == []
    assert record.received_at <= time.perf_counter() and record.received_wall <= time.time()


def test_getgroupsofoa_pages_through_the_village_groups(client: httpx.Client) -> None:
    def page(offset: int, count: int, token: str = "za-1") -> dict[str, Any]:
        params = {"offset": offset, "count": count}
        return client.get("/v3.0/oa/group/getgroupsofoa", params=params, headers={"access_token": token}).json()

    first, rest = page(0, 3), page(3, 3)
    assert first["error"] == 0 and first["data"]["total"] == 4
    assert len(first["data"]["groups"]) == 3 and len(rest["data"]["groups"]) == 1
    assert {"group_id", "name", "group_link", "total_member", "status"} <= first["data"]["groups"][0].keys()
    assert first["data"]["groups"][0]["name"].startswith("Thôn")
    assert page(0, 3, token="stale")["error"] == -216


def test_refresh_rotates_both_tokens_and_each_refresh_token_works_once(
    fake: FakePlatform, client: httpx.Client
) -> None:
    assert refresh(client, "zr-1", secret="wrong")["error"] < 0
    grant = refresh(client, "zr-1")
    assert grant["expires_in"] == "90000"
    assert grant["access_token"] != "za-1" and grant["refresh_token"] != "zr-1"
    assert (fake.zalo_access_token, fake.zalo_refresh_token) == (grant["access_token"], grant["refresh_token"])
    reused = refresh(client, "zr-1")
    assert reused["error"] < 0 and reused["error_description"]
    assert zalo_cs(client, "cũ", token="za-1").json()["error"] == -216
    assert zalo_cs(client, "mới", token=grant["access_token"]).json()["error"] == 0
    assert "access_token" in refresh(client, grant["refresh_token"])
    assert [r.platform for r in fake.requests].count("zalo-oauth") == 4


def test_an_expired_access_token_is_refused_until_a_refresh(fake: FakePlatform, client: httpx.Client) -> None:
    assert zalo_group(client, "một").json()["error"] == 0
    fake.expire_zalo_token()
    assert zalo_group(client, "hai").json()["error"] == -216
    grant = refresh(client, "zr-1")
    assert zalo_group(client, "ba", token=grant["access_token"]).json()["error"] == 0
    assert fake.texts() == ["một", "ba"]


def test_zalo_bot_send_and_a_wrong_bot_token(client: httpx.Client) -> None:
    ok = bot_send(client, "Xin chào").json()
    assert ok["ok"] is True and ok["result"]["message_id"] and ok["result"]["date"] > 1_700_000_000_000
    refused = bot_send(client, "Xin chào", token="123:wrong")
    assert refused.status_code == 401
    assert refused.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_messenger_takes_a_bearer_or_query_token_and_refuses_others(fake: FakePlatform, client: httpx.Client) -> None:
    assert fb_send(client, "bearer").json()["recipient_id"] == "PSID-1"
    body = {"recipient": {"id": "PSID-2"}, "message": {"text": "query"}}
    assert client.post("/v21.0/me/messages", params={"access_token": "fb-page"}, json=body).json()["message_id"]
    typing = {"recipient": {"id": "PSID-2"}, "sender_action": "typing_on"}
    assert client.post("/v21.0/me/messages", params={"access_token": "fb-page"}, json=typing).is_success
    refused = fb_send(client, "sai", token="other")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 190
    assert fake.texts() == ["bearer", "query"]


@pytest.mark.parametrize(
    ("send", "kind", "status", "code"),
    [
        (zalo_cs, "permanent", 200, -230),
        (zalo_cs, "zalo_busy", 200, -32),
        (zalo_cs, "zalo_token", 200, -216),
        (fb_send, "permanent", 400, 551),
        (fb_send, "fb_rate_limit", 400, 613),
        (fb_send, "zalo_token", 400, 190),
        (bot_send, "permanent", 400, 400),
        (bot_send, "fb_rate_limit", 429, 429),
        (bot_send, "zalo_token", 401, 401),
    ],
)
def test_injected_failures_take_the_shape_of_the_platform(
    fake: FakePlatform, client: httpx.Client, send: Send, kind: FailureKind, status: int, code: int
) -> None:
    fake.fail_next(1, kind)
    response = send(client, "x")
    assert (response.status_code, error_code(response.json())) == (status, code)
    assert send(client, "y").is_success and fake.texts() == ["y"]


def test_a_message_too_long_for_the_platform_is_refused(client: httpx.Client) -> None:
    assert zalo_cs(client, "a" * 2001).json()["error"] == -201
    assert fb_send(client, "a" * 2001).json()["error"]["code"] == 100
    assert bot_send(client, "a" * 2001).status_code == 400


def test_failures_are_consumed_in_order_once_each(fake: FakePlatform, client: httpx.Client) -> None:
    fake.fail_next(1, "http500")
    fake.fail_next(2, "http429")
    fake.fail_next(1, "zalo_busy")
    responses = [zalo_cs(client, str(i)) for i in range(5)]
    assert [r.status_code for r in responses] == [500, 429, 429, 200, 200]
    assert responses[1].headers["retry-after"] == "1"
    assert responses[3].json()["error"] == -32 and responses[4].json()["error"] == 0
    assert [r.status for r in fake.requests] == [500, 429, 429, 200, 200]
    assert fake.texts() == ["4"]


def test_a_timeout_failure_outlasts_a_short_client_timeout(fake: FakePlatform) -> None:
    fake.fail_next(1, "timeout")
    with httpx.Client(base_url=fake.base_url, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            fb_send(client, "chậm")
        assert fb_send(client, "nhanh").is_success
    assert fake.texts() == ["nhanh"]


def test_an_outage_fails_every_send_for_its_window_only(fake: FakePlatform, client: httpx.Client) -> None:
    fake.fail_next(1, "permanent")
    fake.outage(0.5)
    assert [send(client, "x").status_code for send in (zalo_cs, bot_send, fb_send)] == [503, 503, 503]
    assert client.get("/v3.0/oa/group/getgroupsofoa", headers={"access_token": "za-1"}).json()["error"] == 0
    time.sleep(0.55)
    assert zalo_cs(client, "sau").json()["error"] == -230
    fake.outage(60)
    fake.outage(0)
    assert zalo_cs(client, "hết").json()["error"] == 0


def test_wait_for_blocks_until_enough_sends_are_delivered(fake: FakePlatform, client: httpx.Client) -> None:
    def later() -> None:
        time.sleep(0.1)
        with httpx.Client(base_url=fake.base_url) as other:
            for text in ("a", "b", "c"):
                bot_send(other, text)

    fake.fail_next(1, "http500")
    sender = threading.Thread(target=later)
    sender.start()
    assert fake.wait_for(2, timeout=5.0)
    sender.join()
    started = time.perf_counter()
    assert not fake.wait_for(3, timeout=0.1)
    assert time.perf_counter() - started >= 0.1


def test_latency_is_added_to_every_send(fake: FakePlatform, client: httpx.Client) -> None:
    fake.latency = 0.2
    started = time.perf_counter()
    bot_send(client, "chậm")
    assert time.perf_counter() - started >= 0.2


def test_reset_forgets_requests_failures_outage_and_token_changes(fake: FakePlatform, client: httpx.Client) -> None:
    zalo_cs(client, "trước")
    refresh(client, "zr-1")
    fake.fail_next(3, "http500")
    fake.outage(60)
    fake.latency = 1.0
    fake.reset()
    assert fake.requests == [] and fake.latency == 0.0
    assert zalo_cs(client, "sau").json()["error"] == 0
    assert "access_token" in refresh(client, "zr-1")


def test_an_unknown_path_is_answered_404_and_recorded(fake: FakePlatform, client: httpx.Client) -> None:
    assert client.post("/v2.0/oa/message", json={}).status_code == 404
    assert [(r.platform, r.status) for r in fake.requests] == [("unknown", 404)]
