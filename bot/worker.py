"""The worker: claims inbox rows, runs the handlers, writes replies to the outbox in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from bot import etiquette, inbox, logs, outbox, reminders, retention, wakeups
from bot.delivery import Sender, wait_any
from bot.engine import Context, Engine
from bot.platforms.base import Platform
from bot.runtime import Runtime
from bot.tables import InboxMessage
from knowledge.base import KnowledgeBase
from knowledge.models import utcnow

log = logging.getLogger("troly.worker")
PURGE_EVERY_SECONDS = 3600.0  # old transcripts go within the hour; a daily retention needs no finer clock


class Worker:
    def __init__(self, runtime: Runtime, engine: Engine, threads: int = 4) -> None:
        self.rt = runtime
        self.engine = engine
        self.wake = asyncio.Event()
        # Most of a message's time is spent waiting for the database, so a few are processed at once.
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="troly-worker")

    def process_inbox(self, limit: int = 50, after_each: Callable[[], None] = lambda: None) -> int:
        """Process the claimable rows once; returns how many were taken. `after_each` runs after every commit.

        A claim holds at most one row per chat, so the rows of a batch can be processed side by side."""
        lease = timedelta(seconds=self.rt.settings.lease_seconds)
        with self.rt.session() as s:
            rows = inbox.claim(s, utcnow(), lease, limit)
        if not rows:
            return 0
        knowledge = self.rt.knowledge()  # one FAQ version check per batch: an edit is followed at the next one

        def one(row: InboxMessage) -> None:
            with logs.handling(f"inbox:{row.id}"):
                self._process(row, knowledge)
            after_each()

        list(self._pool.map(one, rows))
        return len(rows)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _process(self, claimed: InboxMessage, knowledge: KnowledgeBase) -> None:
        """Answer one claimed row; `inbox.finish` refuses it if another worker took it over meanwhile."""
        with self.rt.session() as s:
            now = utcnow()
            if claimed.attempts > self.rt.settings.inbox_max_attempts:
                if inbox.give_up(s, claimed, now, claimed.error or "quá số lần thử"):
                    s.commit()
                    self.rt.metrics.processed.labels("failed").inc()
                return
            ctx = Context(s, knowledge, self.rt.settings, now)
            try:
                replies = self.engine.process(inbox.to_message(claimed), ctx)
                replies = etiquette.admit(s, replies, now, self.rt.settings)
            except Exception as error:  # a handler bug: keep the message, retry after the lease, then give up
                s.rollback()
                log.exception("inbox %s: handler error", claimed.id)
                self._note_error(claimed.id, repr(error))
                self.rt.metrics.processed.labels("error").inc()
                return
            for out in replies:
                outbox.enqueue(s, out, now, claimed.id)
            if not inbox.finish(s, claimed, now, ctx.decision, ctx.faq_id):
                # Our lease ran out and another worker took the row over: its answer is the one kept.
                s.rollback()
                log.warning("inbox %s: taken over by another worker, my answer is dropped", claimed.id)
                return
            s.commit()
        self.rt.metrics.processed.labels("replied" if replies else "silent").inc()
        self.rt.metrics.decisions.labels(ctx.decision or "none").inc()

    def send_reminders(self) -> int:
        """Queue the reminders due now (by the runtime's clock); returns how many were queued."""
        with self.rt.session() as s:
            now = self.rt.clock()
            kb = self.rt.knowledge(s)
            queued = reminders.due(s, now, self.rt.settings, kb.question)
            for out in queued:
                outbox.enqueue(s, out, now)
            s.commit()
        return len(queued)

    def purge_old(self) -> dict[str, int]:
        """Delete the transcripts older than the retention (TROLY_RETENTION_DAYS); returns counts by kind."""
        with self.rt.session() as s:
            removed = retention.purge(s, self.rt.clock(), self.rt.settings)
            s.commit()
        if any(removed.values()):
            log.info("retention: removed %s", removed)
        return removed

    def _note_error(self, row_id: int | None, error: str) -> None:
        with self.rt.session() as s:
            row = s.get(InboxMessage, row_id)
            if row is not None:
                row.error = error[:1000]
                s.add(row)
                s.commit()

    async def run(self, stop: asyncio.Event, sender: Sender | None = None) -> None:
        next_reminders = next_purge = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                try:
                    await asyncio.to_thread(self.purge_old)
                except Exception:
                    log.exception("worker: retention purge failed")
            if time.monotonic() >= next_reminders:
                next_reminders = time.monotonic() + self.rt.settings.reminder_check_seconds
                try:
                    if await asyncio.to_thread(self.send_reminders) and sender is not None:
                        sender.wake.set()
                except Exception:
                    log.exception("worker: reminders failed")
            loop = asyncio.get_running_loop()
            # The sender starts on each reply as soon as it is committed, not after the whole batch.
            wake_sender = (lambda: loop.call_soon_threadsafe(sender.wake.set)) if sender else (lambda: None)
            try:
                taken = await asyncio.to_thread(self.process_inbox, 50, wake_sender)
            except Exception:  # e.g. the database is briefly unavailable: keep the loop alive
                log.exception("worker: claiming inbox rows failed")
                taken = 0
            if taken and sender is not None:
                sender.wake.set()
            if not taken:
                self.wake.clear()
                await wait_any(self.wake, stop, self.rt.settings.worker_poll_seconds)


class Service:
    """The worker and the sender together, as `troly serve` and `troly worker` run them."""

    def __init__(self, runtime: Runtime, engine: Engine, platforms: Mapping[str, Platform]) -> None:
        self.rt = runtime
        self.worker = Worker(runtime, engine)
        # httpcore looks at every pooled connection on each request, so a bounded pool costs less CPU per send.
        self.client = httpx.AsyncClient(timeout=runtime.settings.send_timeout_seconds,
                                        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
        self.sender = Sender(runtime, platforms, self.client)
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._listener: wakeups.Listener | None = None

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.worker.run(self.stop, self.sender)),
                       asyncio.create_task(self.sender.run(self.stop))]
        if self.rt.engine.dialect.name == "postgresql":  # messages stored by other processes wake this worker
            loop = asyncio.get_running_loop()
            self._listener = wakeups.Listener(self.rt.settings.database_url,
                                              lambda: loop.call_soon_threadsafe(self.worker.wake.set))
            self._listener.start()

    def wake(self) -> None:
        self.worker.wake.set()

    async def close(self) -> None:
        self.stop.set()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self.worker.close)
        await self.client.aclose()
