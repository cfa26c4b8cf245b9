"""The sender: delivers outbox rows through the adapters, with back-off and token refresh."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.engine import Row

from bot import claims, handoff, logs, outbox, tokens
from bot.http11 import KeepAliveTransport, LeanClient
from bot.messages import OutgoingMessage
from bot.platforms.base import Platform, Sent, SendError
from bot.runtime import Runtime
from bot.tables import aware
from knowledge.models import utcnow

log = logging.getLogger("troly.delivery")


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float
    max_attempts: int

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Exponential with jitter; never sooner than the platform asked."""
        wait = min(self.cap, self.base * 2 ** max(attempts - 1, 0)) * random.uniform(0.8, 1.2)
        return max(wait, retry_after or 0.0)


class Sender:
    """Claims due replies and sends each once; several chats in parallel, one chat in order."""

    def __init__(self, runtime: Runtime, platforms: Mapping[str, Platform], client: httpx.AsyncClient,
                 concurrency: int = 32) -> None:
        s = runtime.settings
        self.rt = runtime
        self.platforms = dict(platforms)
        self.client = client
        self.concurrency = concurrency
        self.backoff = Backoff(s.send_retry_base_seconds, s.send_retry_max_seconds, s.send_max_attempts)
        self.wake = asyncio.Event()
        self._seeds = {"zalo": (s.zalo_access_token, s.zalo_refresh_token)}
        self._refresh_lock = asyncio.Lock()
        self._tokens: dict[str, str] = {}
        self._running: set[asyncio.Task] = set()
        self._sending: set[int | None] = set()  # outbox ids being sent by this process
        self._unmarked: list[tuple[Row, Sent, asyncio.Future[None]]] = []  # sent, waiting for _mark_sent
        self._marking: asyncio.Task | None = None
        self._crowded = False  # the last claim filled every free place: more rows may be due

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a send cut off by the stop is resumed after its lease.

        A claim costs a few round trips even when it finds nothing, so the sender claims only when woken:
        by replies committed (the worker), by a send that made room while rows were left waiting, by a
        chat's next reply coming due; and at each poll, for the retries that came due."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self.wake.clear()  # before claiming: a reply committed during the claim wakes the next one
            claimed_at = loop.time()
            try:
                await self.deliver_due()
            except Exception:  # e.g. the database is briefly unavailable: keep the loop alive
                log.exception("sender: claiming due replies failed")
            await wait_any(self.wake, stop, self.rt.settings.worker_poll_seconds)
            await asyncio.sleep(claimed_at + claims.GATHER_SECONDS - loop.time())
        for task in list(self._running):
            task.cancel()

    async def deliver_due(self) -> int:
        """Start sending the due rows (as tasks); returns how many were started."""
        free = self.concurrency - len(self._running)
        self._crowded = True  # no room (or the claim fails): rows may be left waiting, a finished send claims
        if free <= 0:
            return 0
        rows = await asyncio.to_thread(self._claim, free)
        self._crowded = len(rows) == free
        for row in rows:
            if row.id in self._sending:  # our own send of it is still under way: its lease ran out meanwhile
                continue
            self._sending.add(row.id)
            with logs.handling(f"outbox:{row.id}"):  # the task keeps this id for its log lines
                task = asyncio.create_task(self.deliver(row))
            self._running.add(task)
            task.add_done_callback(self._done)
            task.add_done_callback(lambda _, sent=row.id: self._sending.discard(sent))
        return len(rows)

    async def drain(self) -> None:
        """Wait for the sends under way (tests and shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    def _done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if self._crowded:
            self.wake.set()

    def _claim(self, limit: int) -> list[Row]:
        lease = timedelta(seconds=self.rt.settings.lease_seconds)
        with self.rt.session() as s:
            return outbox.claim_due(s, utcnow(), lease, limit)

    async def deliver(self, row: Row) -> None:
        if not await self._deliver(row) or row.has_next:
            self.wake.set()  # the chat's next reply is due now (or a failed notice's fallback to its team)

    async def _deliver(self, row: Row) -> bool:
        """True when the row was sent (and marked so)."""
        platform = self.platforms.get(row.platform)
        if platform is None:
            await asyncio.to_thread(self._failed, row, f"nền tảng {row.platform} chưa được cấu hình", "unconfigured")
            return False
        if not self._lease_lasts(row):
            # This process fell behind: another worker may take the row over during the send and send it too.
            log.warning("outbox %s: too little of the lease left to send, left for the next claim", row.id)
            return False
        started = time.perf_counter()
        try:
            sent = await self._send(platform, outbox.to_message(row))
        except SendError as error:
            self._timed(row, started, "error")
            await asyncio.to_thread(self._after_error, row, error)
            return False
        except Exception as error:  # an adapter bug must not lose the reply: retry it like a timeout
            log.exception("outbox %s: unexpected send error", row.id)
            await asyncio.to_thread(self._after_error, row, SendError(repr(error), transient=True))
            return False
        self._timed(row, started, "ok")
        await self._sent(row, sent)
        return True

    async def _sent(self, row: Row, sent: Sent) -> None:
        """Returns once the row is marked sent. The sends that finish while one batch is being marked are
        marked together in the next: one transaction for many rows, and no waiting when the sender is idle."""
        marked = asyncio.get_running_loop().create_future()
        self._unmarked.append((row, sent, marked))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_sent())
        await marked

    async def _mark_sent(self) -> None:
        while self._unmarked:
            batch, self._unmarked = self._unmarked, []
            try:
                await asyncio.to_thread(self._mark, [(row, sent) for row, sent, _ in batch])
                error = None
            except Exception as failed:  # each send's task fails as it did when it marked its own row
                error = failed
            for *_, marked in batch:
                if marked.done():  # its send's task was cancelled meanwhile (a shutdown)
                    continue
                if error is None:
                    marked.set_result(None)
                else:
                    marked.set_exception(error)

    def _mark(self, sent: list[tuple[Row, Sent]]) -> None:
        now = utcnow()
        with self.rt.session() as s:
            outbox.mark_all_sent(s, [(row, done.platform_message_ids) for row, done in sent], now)
            s.commit()
        for row, _ in sent:
            self.rt.metrics.sent.labels(row.platform).inc()
            self.rt.metrics.reply_latency.labels(row.platform).observe((now - aware(row.created_at)).total_seconds())

    def _timed(self, row: Row, started: float, result: str) -> None:
        self.rt.metrics.send_latency.labels(row.platform, result).observe(time.perf_counter() - started)

    def _lease_lasts(self, row: Row) -> bool:
        """Whether the lease outlasts a send that runs into its timeout (at most half the lease, so a short
        lease still lets sends through)."""
        s = self.rt.settings
        margin = timedelta(seconds=min(s.send_timeout_seconds, s.lease_seconds / 2))
        return row.lease_until is None or utcnow() + margin < aware(row.lease_until)

    async def _send(self, platform: Platform, out: OutgoingMessage) -> Sent:
        token = await self._token(platform)
        try:
            return await platform.send(self.client, out, token)
        except SendError as error:
            if not (error.token_expired and hasattr(platform, "refresh")):
                raise
        return await platform.send(self.client, out, await self._refresh(platform, token))

    async def _token(self, platform: Platform) -> str | None:
        """The access token, read from the database once and then kept (a refresh replaces it)."""
        if platform.name not in self._seeds:
            return None
        if platform.name not in self._tokens:
            row = await asyncio.to_thread(self._stored_token, platform.name)
            if row is None:
                return None
            self._tokens[platform.name] = row.access_token
        return self._tokens[platform.name]

    def _stored_token(self, name: str):
        with self.rt.session() as s:
            return tokens.current(s, name, *self._seeds[name])

    async def _refresh(self, platform: Platform, failed_token: str | None) -> str:
        """One refresh at a time across processes (the token row stays locked meanwhile): Zalo's refresh
        token works once, so a second refresh with it would fail. A token renewed meanwhile is simply used."""
        async with self._refresh_lock:
            await asyncio.to_thread(self._stored_token, platform.name)  # seeds the row on first use
            with self.rt.session() as s:
                row = await asyncio.to_thread(tokens.locked, s, platform.name)
                if row is None or not row.refresh_token:
                    raise SendError("chưa có refresh token để làm mới access token", transient=True,
                                    token_expired=True)
                if row.access_token != failed_token:  # renewed meanwhile, here or by another process
                    self._tokens[platform.name] = row.access_token
                    return row.access_token
                grant = await platform.refresh(self.client, row.refresh_token)
                if not await asyncio.to_thread(tokens.store_grant, s, row, grant, utcnow()):
                    log.warning("%s token was refreshed elsewhere at the same time", platform.name)
            self._tokens[platform.name] = grant.access_token
            self.rt.metrics.token_refreshes.labels(platform.name).inc()
            log.info("%s access token refreshed", platform.name)
            return grant.access_token

    def _after_error(self, row: Row, error: SendError) -> None:
        if not error.transient or row.attempts >= self.backoff.max_attempts:
            self._failed(row, error.reason, "refused" if not error.transient else "gave_up")
            return
        wait = self.backoff.delay(row.attempts, error.retry_after)
        log.info("outbox %s: %s; retry %d in %.1fs", row.id, error.reason, row.attempts, wait)
        self.rt.metrics.retries.labels(row.platform, _reason(error)).inc()
        with self.rt.session() as s:
            outbox.retry_later(s, row, utcnow() + timedelta(seconds=wait), error.reason)
            s.commit()

    def _failed(self, row: Row, reason: str, kind: str) -> None:
        log.warning("outbox %s to %s:%s failed for good: %s", row.id, row.platform, row.chat_id, reason)
        self.rt.metrics.failed.labels(row.platform, kind).inc()
        with self.rt.session() as s:
            outbox.mark_failed(s, row, reason)
            if row.purpose == "notify":
                instead = handoff.fallback(s, row.escalation_id, row.platform, row.text)
                if instead is not None:
                    outbox.enqueue(s, instead, utcnow())
            s.commit()


def http_client(timeout: float, connections: int = 32) -> httpx.AsyncClient:
    """The sender's HTTP client, on the lean keep-alive transport (bot/http11.py). Behind a proxy (HTTPS_PROXY
    and the like in the environment) httpx's own transport, which knows proxies, at a higher CPU cost."""
    tls = httpx.create_ssl_context()
    if urllib.request.getproxies():
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(timeout=timeout, limits=limits, verify=tls)
    return LeanClient(KeepAliveTransport(tls, connections), timeout)


def _reason(error: SendError) -> str:
    if error.token_expired:
        return "token"
    # HTTP 429, Zalo OA -32, Graph 613 and 32 (page request limit) all mean: too many requests.
    if error.retry_after is not None or str(error.code) in {"429", "-32", "613", "32"}:
        return "rate_limit"
    return "transient"


async def wait_any(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = {asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())}
    _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
