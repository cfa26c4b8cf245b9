"""/metrics: what this process did, and the state of the queues and escalations read from the database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

import deliveries as d
from bot.tables import Escalation
from knowledge.models import utcnow
from main import build_platforms, build_service, create_app


@pytest.fixture
def app(live_settings):
    application = create_app(live_settings.model_copy(update={"worker_in_serve": False}))
    yield application
    application.state.runtime.engine.dispose()


def value(text: str, sample: str) -> float:
    """The value of one sample line, e.g. `troly_inbox_depth` or `troly_escalations{status="open"}`."""
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    assert found, f"{sample} not in /metrics"
    return float(found.group(1))


def test_queue_depth_and_age_come_from_the_database(app):
    with TestClient(app) as client:
        assert value(client.get("/metrics").text, "troly_inbox_depth") == 0
        assert value(client.get("/metrics").text, "troly_inbox_oldest_age_seconds") == 0
        for n in range(3):
            body, headers = d.zalo("quen mat khau vneid", sender=f"m{n}")
            client.post("/webhooks/zalo", content=body, headers=headers)
        text = client.get("/metrics").text
        assert value(text, "troly_inbox_depth") == 3
        assert value(text, "troly_inbox_oldest_age_seconds") >= 0
        assert value(text, "troly_outbox_depth") == 0

        rt = app.state.runtime
        build_service(rt, build_platforms(rt.settings)).worker.process_inbox()
        text = client.get("/metrics").text
    assert value(text, "troly_inbox_depth") == 0
    assert value(text, "troly_outbox_depth") == 3
    assert value(text, 'troly_decisions_total{decision="answer"}') == 3


def test_escalations_by_status_and_the_time_people_take_to_answer(app):
    now = utcnow()
    with app.state.runtime.session() as s:
        for minutes, status in ((10, "answered"), (30, "answered"), (50, "closed"), (0, "open")):
            s.add(Escalation(platform="zalo", chat_id="c", chat_kind="private", asker_id="a", message_id=f"m{minutes}",
                             question="?", status=status, created_at=now - timedelta(minutes=minutes),
                             answered_at=now if minutes else None))
        s.add(Escalation(platform="zalo", chat_id="c", chat_kind="private", asker_id="a", message_id="old",
                         question="?", status="closed", created_at=now - timedelta(days=40, minutes=90),
                         answered_at=now - timedelta(days=40)))
        s.commit()
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert value(text, 'troly_escalations{status="answered"}') == 2
    assert value(text, 'troly_escalations{status="closed"}') == 2
    assert value(text, 'troly_escalations{status="open"}') == 1
    assert value(text, 'troly_escalation_answer_seconds_30d{quantile="0.5"}') == 30 * 60
    assert value(text, 'troly_escalation_answer_seconds_30d{quantile="0.9"}') == pytest.approx(46 * 60)
