"""Log lines are JSON objects with the request or message at hand, and never show a personal number."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

import deliveries as d
from bot import logs
from main import create_app


class Lines(logging.Handler):
    """Formats at emit time, as a real handler does, while the request's context is still set."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured():
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def client(live_settings):
    app = create_app(live_settings.model_copy(update={"worker_in_serve": False}))
    with TestClient(app) as c:
        yield c
    app.state.runtime.engine.dispose()


def test_a_line_is_one_json_object_with_personal_numbers_masked(captured):
    logging.getLogger("troly.test").warning("khách gửi cccd 001203004567 và sđt 0912 345 678")
    line = captured[-1]
    assert line["level"] == "warning" and line["logger"] == "troly.test"
    assert "001203004567" not in line["message"] and "0912 345 678" not in line["message"]
    assert "[số đã ẩn]" in line["message"]
    assert line["time"].endswith("+00:00")


def test_an_error_carries_its_traceback_masked(captured):
    try:
        raise ValueError("mã OTP 482913 sai")
    except ValueError:
        logging.getLogger("troly.test").exception("gửi thất bại")
    assert "ValueError" in captured[-1]["error"] and "482913" not in captured[-1]["error"]


def test_lines_written_while_handling_a_row_carry_its_id(captured):
    with logs.handling("inbox:42"):
        logging.getLogger("troly.worker").info("đang xử lý")
    logging.getLogger("troly.worker").info("xong")
    assert captured[-2]["message_id"] == "inbox:42"
    assert "message_id" not in captured[-1]


def test_a_request_gets_an_id_answered_back_and_logged(client, captured):
    body, headers = d.zalo("quen mat khau vneid")
    response = client.post("/webhooks/zalo", content=body, headers={**headers, "X-ZEvent-Signature": "mac=bad"})
    assert response.status_code == 403
    request_id = response.headers["x-request-id"]
    rejected = [line for line in captured if line["logger"] == "troly.webhooks"]
    assert rejected and rejected[-1]["request_id"] == request_id


def test_a_callers_request_id_is_kept_when_sane_and_replaced_when_not(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"}).headers["x-request-id"] == "lb-7f3a.2"
    odd = client.get("/healthz", headers={"X-Request-ID": "x\" onload=alert(1)"}).headers["x-request-id"]
    assert odd != "x\" onload=alert(1)" and len(odd) == 16


def test_configure_sends_json_lines_to_stderr(capsys):
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        logs.configure("info", "json")
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("troly.test").debug("không in ở mức info")
    finally:
        root.handlers[:], root.level = saved, level
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["logger"] for line in lines] == ["uvicorn.error"]


def test_the_text_form_is_one_readable_line_masked(capsys):
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        logs.configure("warning", "text")
        with logs.handling("outbox:7"):
            logging.getLogger("troly.delivery").warning("gửi tới 0912345678 lỗi")
    finally:
        root.handlers[:], root.level = saved, level
    err = capsys.readouterr().err
    assert err.startswith("warning troly.delivery: gửi tới [số đã ẩn] lỗi [outbox:7]")
