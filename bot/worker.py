"""The worker: claims inbox rows, runs the handlers, writes replies to the outbox in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

import httpx

from bot import etiquette, inbox, outbox, reminders
from bot.delivery import Sender, wait_any
from bot.engine import Context, Engine
from bot.platforms.base import Platform
from bot.runtime import Runtime
from bot.tables import InboxMessage
from knowledge.models import utcnow

log = logging.getLogger("troly.worker")


class Worker:
    def __init__(self, runtime: Runtime, engine: Engine) -> None:
        self.rt = runtime
        self.engine = engine
        self.wake = asyncio.Event()

    def process_inbox(self, limit: int = 50, after_each: Callable[[], None] = lambda: None) -> int:
        """Process the claimable rows once; returns how many were taken. `after_each` runs after every commit."""
        lease = timedelta(seconds=self.rt.settings.lease_seconds)
        with self.rt.session() as s:
            rows = inbox.claim(s, utcnow(), lease, limit)
        for row in rows:
            self._process(row)
            after_each()
        return len(rows)

    def _process(self, claimed: InboxMessage) -> None:
        with self.rt.session() as s:
            row = s.get(InboxMessage, claimed.id)
            now = utcnow()
            if row is None or row.status != "new":
                return
            if row.attempts > self.rt.settings.inbox_max_attempts:
                inbox.give_up(s, row, now, row.error or "quá số lần thử")
                s.commit()
                self.rt.metrics.processed.labels("failed").inc()
                return
            ctx = Context(s, self.rt.knowledge(s), self.rt.settings, now)
            try:
                replies = self.engine.process(inbox.to_message(row), ctx)
                replies = etiquette.admit(s, replies, now, self.rt.settings)
            except Exception as error:  # a handler bug: keep the message, retry after the lease, then give up
                s.rollback()
                log.exception("inbox %s: handler error", claimed.id)
                self._note_error(claimed.id, repr(error))
                self.rt.metrics.processed.labels("error").inc()
                return
            for out in replies:
                outbox.enqueue(s, out, now, row.id)
            row.decision, row.faq_id = ctx.decision, ctx.faq_id
            inbox.finish(s, row, now)
            s.commit()
        self.rt.metrics.processed.labels("replied" if replies else "silent").inc()

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

    def _note_error(self, row_id: int | None, error: str) -> None:
        with self.rt.session() as s:
            row = s.get(InboxMessage, row_id)
            if row is not None:
                row.error = error[:1000]
                s.add(row)
                s.commit()

    async def run(self, stop: asyncio.Event, sender: Sender | None = None) -> None:
        next_reminders = 0.0
        while not stop.is_set():
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
        self.client = httpx.AsyncClient(timeout=runtime.settings.send_timeout_seconds)
        self.sender = Sender(runtime, platforms, self.client)
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.worker.run(self.stop, self.sender)),
                       asyncio.create_task(self.sender.run(self.stop))]

    def wake(self) -> None:
        self.worker.wake.set()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()
