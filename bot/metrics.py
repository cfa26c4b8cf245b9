"""Prometheus counters of one app or worker (its own registry: no global state between test apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter("troly_webhook_requests", "Webhook deliveries by platform and HTTP status",
                                ["platform", "status"], registry=self.registry)
        self.received = Counter("troly_inbox_received", "New messages stored in the inbox", ["platform"],
                                registry=self.registry)
        self.processed = Counter("troly_inbox_processed", "Inbox rows processed by outcome", ["outcome"],
                                 registry=self.registry)
        self.sent = Counter("troly_outbox_sent", "Replies delivered", ["platform"], registry=self.registry)
        self.retries = Counter("troly_outbox_retries", "Sends retried with back-off, by reason",
                               ["platform", "reason"], registry=self.registry)
        self.failed = Counter("troly_outbox_failed", "Replies that failed for good", ["platform"],
                              registry=self.registry)
        self.token_refreshes = Counter("troly_token_refreshes", "Access tokens refreshed", ["platform"],
                                       registry=self.registry)
        self.reply_latency = Histogram("troly_reply_latency_seconds", "From receiving a message to its reply sent",
                                       ["platform"], registry=self.registry,
                                       buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300))

    def render(self) -> bytes:
        return generate_latest(self.registry)
