"""No request makes the web side fail: the JSON API fuzzed from its OpenAPI schema, the webhooks with
random bodies and headers, signed and unsigned, on SQLite and on PostgreSQL. A 5xx is a bug; bad input
gets a 4xx, and a signed delivery of any shape is acknowledged (what the bot cannot read is skipped)."""

from __future__ import annotations

import hashlib
import json
import uuid
from urllib.parse import urlencode

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.generation.modes import GenerationMode
from sqlmodel import func, select

from bot import people
from bot.settings import Settings
from bot.tables import Escalation, InboxMessage, Team
from databases import SKIP_REASON, fresh_postgres_database, postgres_available
from deliveries import APP_ID, BOT_SECRET, OA_SECRET, facebook_signature, platform_env, sample
from knowledge import suggestions
from main import create_app
from village import seed_village

EXAMPLES = 25  # per API operation and database: the file stays near a minute on one core
# Derandomized and without an example database: CI runs the same cases every time.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
API_OPERATIONS = [
    ("POST", "/api/ask"), ("GET", "/api/faq"), ("POST", "/api/faq"), ("GET", "/api/faq/{faq_id}"),
    ("PUT", "/api/faq/{faq_id}"), ("DELETE", "/api/faq/{faq_id}"), ("GET", "/api/escalations"),
    ("GET", "/api/escalations/{number}"), ("POST", "/api/escalations/{number}/answer"),
    ("POST", "/api/escalations/{number}/claim"), ("POST", "/api/escalations/{number}/release"),
    ("GET", "/api/suggestions"), ("POST", "/api/suggestions/{number}/accept"),
    ("POST", "/api/suggestions/{number}/reject"), ("GET", "/api/stats"),
]


# The app -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """A database for the module: PostgreSQL refuses text SQLite takes (NUL), so both are fuzzed."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/t.db"
        return
    if not postgres_available():
        pytest.skip(f"{SKIP_REASON}: PostgreSQL fuzzing skipped")
    with fresh_postgres_database("troly_fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def fuzz_app(database):
    """Every platform live, a village with escalations and a pending suggestion, and an admin token."""
    app = create_app(Settings(database_url=database, _env_file=None, seed_admin=False, worker_in_serve=False,
                              **platform_env("http://127.0.0.1:9")))
    with app.state.runtime.session() as s:
        seed_village(s)
        team = s.exec(select(Team).where(Team.name == "Thôn Đông")).one()
        for n in range(3):
            s.add(Escalation(platform="zalo", chat_id="g-dong", chat_kind="group", asker_id="u-asker",
                             asker_name="Bác Ba", message_id=f"msg-{n}", question="xin giấy phép xây nhà",
                             guesses=["dvc-dat-dai"], team_id=team.id))
        suggestions.propose(s, "nhà văn hóa mở cửa mấy giờ", "Dạ, từ 7 giờ ạ.", "escalation #1", "admin")
        app.state.token = people.create_token(s, "fuzz", "admin")
        s.commit()
    yield app
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def client(fuzz_app):
    with TestClient(fuzz_app, raise_server_exceptions=False) as c:
        yield c


# The JSON API, from its schema -------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def test_every_api_operation_is_fuzzed(api_schema):
    listed = {(op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())}
    assert {op for op in listed if op[1].startswith("/api/")} == set(API_OPERATIONS)


@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_no_api_operation_answers_a_server_error(api_schema, fuzz_app, method, path):
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    auth = {"Authorization": f"Bearer {fuzz_app.state.token}"}

    @settings(FUZZ, max_examples=EXAMPLES)
    @given(cases)
    def call(case):
        case.validate_response(case.call(headers=auth), checks=[not_a_server_error, content_type_conformance])

    call()


# Odd JSON bodies ---------------------------------------------------------------------------------

# Text that JSON carries but UTF-8 or PostgreSQL do not: a lone surrogate, NUL, NaN.
ODD_STRINGS = (st.text(st.sampled_from("\x00\ud800\udfff\u200b\u202e\ufeff\r\n\t ạa"), min_size=1, max_size=20)
               | st.text(st.characters(exclude_categories=()), max_size=30))
ODD_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63, max_value=2**80) | st.floats() | ODD_STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_STRINGS, inner, max_size=3),
    max_leaves=8,
)


def dump(value: object) -> bytes:
    """JSON as a client may send it: surrogates escaped ("\\ud800"), NaN as a bare word."""
    return json.dumps(value).encode()


def mutated(value: object) -> st.SearchStrategy:
    """A valid body or delivery with one of its values, or any of them, swapped for odd JSON."""
    odd_values = ODD_STRINGS | ODD_JSON  # strings first: they reach the database
    return st.sampled_from(list(_paths(value))).flatmap(lambda path: odd_values.map(
        lambda odd: _replaced(value, path, odd))) | _any_swapped(value)


def _paths(value: object, path: tuple = ()):
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _paths(item, (*path, key))


def _replaced(value, path: tuple, odd: object):
    if not path:
        return odd
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], odd)
    return copy


def _any_swapped(value: object) -> st.SearchStrategy:
    if isinstance(value, dict):
        return st.fixed_dictionaries({k: _any_swapped(v) for k, v in value.items()})
    if isinstance(value, list):
        return st.tuples(*(_any_swapped(v) for v in value)).map(list) | ODD_JSON
    return st.just(value) | ODD_JSON


FUZZ_ENTRY = {"id": "fuzz-entry", "category": "khac", "question": "Nhà văn hóa thôn mở cửa mấy giờ?",
              "alternates": ["giờ mở cửa nhà văn hóa"], "answer": "Dạ, từ 7 giờ đến 21 giờ ạ.",
              "source_url": "https://example.gov.vn/nvh", "reviewed_at": "2025-03-01"}
VALID_BODIES = {
    ("POST", "/api/ask"): {"text": "quên mật khẩu vneid", "context": "group"},
    ("POST", "/api/faq"): {**FUZZ_ENTRY, "id": "fuzz-new"},
    ("PUT", "/api/faq/fuzz-entry"): FUZZ_ENTRY,
    ("POST", "/api/escalations/1/answer"): {"answer": "Dạ, bác mang sổ đỏ ra xã ạ.", "faq_id": None},
    ("POST", "/api/suggestions/1/accept"): {"new_id": "nvh-gio", "question": "Mấy giờ?", "answer": "Dạ, 7 giờ.",
                                            "category": "khac"},
}


@pytest.mark.parametrize(("method", "path"), VALID_BODIES)
def test_odd_values_in_a_json_body_get_a_client_error_at_most(client, fuzz_app, method, path):
    """Schemathesis keeps to UTF-8; JSON also carries lone surrogates, NUL, NaN and huge numbers."""
    auth = {"Authorization": f"Bearer {fuzz_app.state.token}", "Content-Type": "application/json"}
    client.post("/api/faq", json=FUZZ_ENTRY, headers=auth)

    @FUZZ
    @given(ODD_JSON | mutated(VALID_BODIES[method, path]))
    def send(body):
        response = client.request(method, path, content=dump(body), headers=auth)
        assert response.status_code < 500, response.text

    send()


# Webhooks ----------------------------------------------------------------------------------------

SIGNATURE_HEADERS = ["x-zevent-signature", "x-bot-api-secret-token", "x-hub-signature-256", "content-type",
                     "content-encoding"]
HEADER_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80).map(
    lambda v: v.encode("latin-1"))


def zalo_oa_headers(body: bytes, payload: object) -> dict[str, str]:
    """The OA signature over a payload whose app_id and timestamp were kept as sent."""
    timestamp = payload["timestamp"].encode()
    mac = hashlib.sha256(APP_ID.encode() + body + timestamp + OA_SECRET.encode()).hexdigest()
    return {"X-ZEvent-Signature": f"mac={mac}"}


def messenger(event: dict) -> dict:
    return {"object": "page", "entry": [{"id": "104000000000001", "time": 1, "messaging": [event]}]}


TEMPLATES = {
    "zalo": [sample(f"zalo_oa_{n}.json") for n in ("user_send_text", "user_send_image", "user_send_link",
                                                   "user_send_sticker", "user_send_file", "follow")]
    + [sample("gmf_webhook_user_send_group_text_INFERRED.json")],
    "zalo-bot": [sample(f"zalo_bot_{n}.json") for n in ("webhook_text", "webhook_image", "getupdates_response")],
    "facebook": [sample("messenger_webhook_text.json"), sample("messenger_webhook_standby.json"),
                 {"object": "page", "entry": [sample("messenger_entry_attachment.json")]}]
    + [messenger(sample(f"messenger_event_{n}.json")) for n in ("echo", "postback", "reply", "text_quick_reply")],
}


def deliveries(platform: str) -> st.SearchStrategy:
    templates = st.sampled_from(TEMPLATES[platform])
    if platform != "zalo":
        return templates.flatmap(mutated)
    # Zalo OA signs with app_id and timestamp: they stay as the platform sends them.
    signable = templates.flatmap(mutated).filter(lambda p: isinstance(p, dict))
    return signable.map(lambda p: {**p, "app_id": APP_ID, "timestamp": "1699003881354"})


def signed(platform: str, body: bytes, payload: object) -> dict[str, str]:
    if platform == "zalo":
        return zalo_oa_headers(body, payload)
    if platform == "zalo-bot":
        return {"X-Bot-Api-Secret-Token": BOT_SECRET}
    return {"X-Hub-Signature-256": facebook_signature(body)}


def inbox_size(app) -> int:
    with app.state.runtime.session() as s:
        return s.exec(select(func.count()).select_from(InboxMessage)).one()


@pytest.mark.parametrize("platform", ["zalo", "zalo-bot", "facebook"])
def test_a_signed_delivery_of_any_shape_is_acknowledged(client, platform):
    @FUZZ
    @given(deliveries(platform))
    def deliver(payload):
        body = dump(payload)
        response = client.post(f"/webhooks/{platform}", content=body, headers=signed(platform, body, payload))
        assert response.status_code == 200, response.text

    deliver()


@pytest.mark.parametrize("platform", ["zalo", "zalo-bot", "facebook"])
def test_an_unsigned_or_badly_signed_delivery_is_refused(client, fuzz_app, platform):
    before = inbox_size(fuzz_app)
    bodies = st.binary(max_size=2000) | deliveries(platform).map(dump)

    @FUZZ
    @given(bodies, st.dictionaries(st.sampled_from(SIGNATURE_HEADERS), HEADER_VALUES, max_size=3))
    def deliver(body, headers):
        response = client.post(f"/webhooks/{platform}", content=body, headers=headers)
        assert response.status_code in (401, 403, 413), response.text

    deliver()
    assert inbox_size(fuzz_app) == before


@pytest.mark.parametrize("platform", ["zalo", "zalo-bot", "facebook"])
def test_signed_bytes_that_are_not_json_are_refused(client, platform):
    @FUZZ
    @given(st.binary(max_size=2000).filter(lambda b: not _is_json(b)))
    def deliver(body):
        headers = {"X-ZEvent-Signature": "mac=00"} if platform == "zalo" else signed(platform, body, None)
        assert client.post(f"/webhooks/{platform}", content=body, headers=headers).status_code in (400, 401)

    deliver()


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def test_the_messenger_handshake_answers_only_our_token(client):
    values = st.text(st.characters(exclude_categories=()), max_size=20) | st.sampled_from(["subscribe", "fb-verify"])
    query = st.dictionaries(st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]), values)

    @FUZZ
    @given(query)
    def handshake(params):
        response = client.get(f"/webhooks/facebook?{urlencode(params, errors='surrogatepass')}")
        ours = params.get("hub.mode") == "subscribe" and params.get("hub.verify_token") == "fb-verify"
        assert response.status_code == (200 if ours and params.get("hub.challenge") else 403)

    handshake()


def test_nul_and_lone_surrogates_in_a_delivery_are_stored_not_refused(client, fuzz_app):
    """PostgreSQL refuses NUL in text and no driver encodes a lone surrogate: the adapters drop or replace them."""
    payload = sample("zalo_bot_webhook_text.json")
    payload["message"].update(message_id=f"nul-{uuid.uuid4().hex}", text="quên m\x00ật khẩu \ud800")
    payload["message"]["from"]["display_name"] = "B\x00ác Ba"
    body = dump(payload)
    response = client.post("/webhooks/zalo-bot", content=body, headers=signed("zalo-bot", body, payload))
    assert response.json() == {"ok": True, "stored": 1}
    with fuzz_app.state.runtime.session() as s:
        row = s.exec(select(InboxMessage).where(InboxMessage.message_id == payload["message"]["message_id"])).one()
    assert (row.text, row.sender_name) == ("quên mật khẩu \ufffd", "Bác Ba")


# The web chat ------------------------------------------------------------------------------------


def test_the_web_chat_takes_any_json_without_a_server_error(client):
    @FUZZ
    @given(ODD_JSON | mutated({"text": "quên mật khẩu vneid", "group": False}))
    def say(body):
        client.cookies.clear()
        client.get("/")  # a new visitor each time: the rate limit is per visitor
        response = client.post("/webchat/messages", content=dump(body), headers={"Content-Type": "application/json"})
        assert response.status_code < 500, response.text

    say()


def test_the_web_chat_reads_from_any_cursor_without_a_server_error(client):
    client.cookies.clear()
    client.get("/")

    @FUZZ
    @given(st.integers() | ODD_STRINGS)
    def read(after):
        response = client.get(f"/webchat/messages?{urlencode({'after': after}, errors='surrogatepass')}")
        assert response.status_code in (200, 422), response.text

    read()
