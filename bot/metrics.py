"""Prometheus metrics of one app or worker (its own registry: no global state between test apps).

Counters and histograms count what this process did. The state of the queues and of the escalations
is read from the database at each scrape, so every process reports the same, whichever does the work.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.tables import Escalation, InboxMessage, OutboxMessage

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300)
ANSWER_WINDOW = timedelta(days=30)


class Metrics:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.registry = r = CollectorRegistry()
        self.webhooks = Counter("troly_webhook_requests", "Webhook deliveries by platform and HTTP status",
                                ["platform", "status"], registry=r)
        self.received = Counter("troly_inbox_received", "New messages stored in the inbox", ["platform"], registry=r)
        self.processed = Counter("troly_inbox_processed", "Inbox rows processed by outcome", ["outcome"], registry=r)
        self.decisions = Counter("troly_decisions", "What the bot did with each message, by kind", ["decision"],
                                 registry=r)
        self.sent = Counter("troly_outbox_sent", "Replies delivered", ["platform"], registry=r)
        self.retries = Counter("troly_outbox_retries", "Sends retried with back-off, by reason",
                               ["platform", "reason"], registry=r)
        self.failed = Counter("troly_outbox_failed", "Replies that failed for good, by reason",
                              ["platform", "reason"], registry=r)
        self.token_refreshes = Counter("troly_token_refreshes", "Access tokens refreshed", ["platform"], registry=r)
        self.send_latency = Histogram("troly_send_seconds", "One send call to a platform, by platform and result",
                                      ["platform", "result"], registry=r, buckets=LATENCY_BUCKETS)
        self.reply_latency = Histogram("troly_reply_latency_seconds", "From receiving a message to its reply sent",
                                       ["platform"], registry=r, buckets=LATENCY_BUCKETS)
        r.register(DatabaseState(engine, clock))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseState(Collector):
    """Queue depth and age, escalations by status, and how long people take to answer, read at scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock().replace(tzinfo=None)
        with self.engine.connect() as c:
            for name, table, waiting, since in (("inbox", InboxMessage, "new", InboxMessage.received_at),
                                                 ("outbox", OutboxMessage, "pending", OutboxMessage.created_at)):
                count, oldest = c.execute(select(func.count(), func.min(since)).where(table.status == waiting)).one()
                yield GaugeMetricFamily(f"troly_{name}_depth", f"Rows waiting in the {name}", value=count)
                yield GaugeMetricFamily(f"troly_{name}_oldest_age_seconds", f"Age of the oldest waiting {name} row",
                                        value=_age(now, oldest))
            by_status = GaugeMetricFamily("troly_escalations", "Escalations by status", labels=["status"])
            for status, count in c.execute(select(Escalation.status, func.count()).group_by(Escalation.status)):
                by_status.add_metric([status], count)
            yield by_status
            answered = c.execute(select(Escalation.created_at, Escalation.answered_at).where(
                Escalation.answered_at.is_not(None), Escalation.answered_at >= now - ANSWER_WINDOW)).all()
        waits = [(a - q).total_seconds() for q, a in answered]
        quantiles = GaugeMetricFamily("troly_escalation_answer_seconds_30d",
                                      "Time from question to a person's answer, escalations answered in 30 days",
                                      labels=["quantile"])
        if waits:
            for q, value in zip(("0.5", "0.9"), _quantiles(waits)):
                quantiles.add_metric([q], value)
        yield quantiles


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since.replace(tzinfo=None)).total_seconds()) if since is not None else 0.0


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return statistics.median(values), cuts[8]
