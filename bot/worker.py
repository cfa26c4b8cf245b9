"""The worker: claims inbox rows, runs the handlers, writes replies to the outbox in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy.engine import Row
from sqlmodel import Session

from bot import claims, etiquette, handoff, inbox, logs, outbox, reminders, retention, wakeups
from bot.delivery import Sender, http_client, wait_any
from bot.engine import Context, Deferred, Engine, run_deferred
from bot.messages import IncomingMessage, OutgoingMessage
from bot.platforms.base import Platform
from bot.runtime import Runtime
from bot.tables import InboxMessage
from knowledge.base import KnowledgeBase
from knowledge.models import utcnow

log = logging.getLogger("troly.worker")
BATCH = 50  # inbox rows claimed at once
PART = 8  # rows a thread answers in one transaction at the least: a transaction for one row costs more than the row
PURGE_EVERY_SECONDS = 3600.0  # old transcripts go within the hour; a daily retention needs no finer clock


class Worker:
    def __init__(self, runtime: Runtime, engine: Engine, threads: int = 4) -> None:
        self.rt = runtime
        self.engine = engine
        self.threads = threads
        self.wake = asyncio.Event()
        # Most of a message's time is spent waiting for the database, so a few are processed at once.
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="troly-worker")

    def process_inbox(self, limit: int = BATCH, replies_queued: Callable[[], None] = lambda: None) -> int:
        """Process the claimable rows once; returns how many were taken. `replies_queued` runs after each
        commit that queued replies."""
        return len(self._process_batch(limit, replies_queued))

    def _process_batch(self, limit: int, replies_queued: Callable[[], None]) -> list[Row]:
        """Claim rows and process them; returns the rows claimed.

        A claim holds at most one row per chat, so the rows of a batch can be processed side by side."""
        lease = timedelta(seconds=self.rt.settings.lease_seconds)
        with self.rt.session() as s:
            rows = inbox.claim(s, utcnow(), lease, limit)
            if not rows:
                return rows
            knowledge = self.rt.knowledge(s)  # one FAQ version check per batch: an edit is followed at the next one

        def some(part: list[Row]) -> None:
            if self._process_some(part, knowledge):
                replies_queued()

        list(self._pool.map(some, _deal(rows, self.threads)))
        return rows

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _process_some(self, rows: list[Row], knowledge: KnowledgeBase) -> bool:
        """Several rows in one transaction: one connection checkout and one commit for all, not one each.
        Anything out of the ordinary (a handler error, a row taken over, a database error) rolls them all
        back, and each is then processed on its own, where it is dealt with as before. True when replies
        were queued."""
        if len(rows) > 1:
            try:
                answered = self._answer_all(rows, knowledge)
                if answered is not None:
                    return answered
            except Exception as error:
                log.info("a batch of %d rows rolled back (%r): processing them one by one", len(rows), error)
        queued = False
        for row in rows:
            with logs.handling(f"inbox:{row.id}"):
                queued = self._process(row, knowledge) or queued
        return queued

    def _answer_all(self, rows: list[Row], knowledge: KnowledgeBase) -> bool | None:
        """Whether replies were queued, once every row was answered and committed; None (all rolled back)
        when a row needs to be processed on its own."""
        limit = self.rt.settings.inbox_max_attempts
        if any(row.attempts > limit for row in rows):
            return None
        with self.rt.session() as s:
            now = utcnow()
            messages = [inbox.to_message(row) for row in rows]
            waiting = handoff.waiting_in_private(s, messages)
            done, replied, parts = [], [], []
            deferred: Deferred = []
            for row, message in zip(rows, messages):
                with logs.handling(f"inbox:{row.id}"):
                    asker = (message.platform, message.chat_id, message.sender_id)
                    ctx, replies = self._answer(s, message, knowledge, now, waiting=asker in waiting,
                                                deferred=deferred)
                done.append(inbox.Done(row, ctx.decision, ctx.faq_id))
                replied.append(bool(replies))
                parts += [part for out in replies for part in outbox.parts(out, now, row.id)]
            run_deferred(s, deferred)
            outbox.store(s, parts)
            if not inbox.finish_all(s, done, now):
                return None
            s.commit()
        for finished, answered in zip(done, replied):
            self._count(answered, finished.decision)
        return bool(parts)

    def _process(self, claimed: Row, knowledge: KnowledgeBase) -> bool:
        """Answer one claimed row; `inbox.finish` refuses it if another worker took it over meanwhile.
        True when replies were queued."""
        with self.rt.session() as s:
            now = utcnow()
            if claimed.attempts > self.rt.settings.inbox_max_attempts:
                if inbox.give_up(s, claimed, now, claimed.error or "quá số lần thử"):
                    s.commit()
                    self.rt.metrics.processed.labels("failed").inc()
                return False
            try:
                ctx, replies = self._answer(s, inbox.to_message(claimed), knowledge, now)
            except Exception as error:  # a handler bug: keep the message, retry after the lease, then give up
                s.rollback()
                log.exception("inbox %s: handler error", claimed.id)
                self._note_error(claimed.id, repr(error))
                self.rt.metrics.processed.labels("error").inc()
                return False
            outbox.store(s, [part for out in replies for part in outbox.parts(out, now, claimed.id)])
            if not inbox.finish(s, claimed, now, ctx.decision, ctx.faq_id):
                # Our lease ran out and another worker took the row over: its answer is the one kept.
                s.rollback()
                log.warning("inbox %s: taken over by another worker, my answer is dropped", claimed.id)
                return False
            s.commit()
        self._count(bool(replies), ctx.decision)
        return bool(replies)

    def _answer(self, s: Session, message: IncomingMessage, knowledge: KnowledgeBase, now: datetime,
                waiting: bool | None = None, deferred: Deferred | None = None) -> tuple[Context, list[OutgoingMessage]]:
        """The handlers' replies to one message, as group manners admit them (the caller stores them and runs
        the `deferred` writes)."""
        ctx = Context(s, knowledge, self.rt.settings, now, waiting=waiting, deferred=deferred)
        replies = self.engine.process(message, ctx)
        return ctx, etiquette.admit(s, replies, now, self.rt.settings)

    def _count(self, replied: bool, decision: str | None) -> None:
        self.rt.metrics.processed.labels("replied" if replied else "silent").inc()
        self.rt.metrics.decisions.labels(decision or "none").inc()

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
            self.wake.clear()  # before claiming: a message stored during the claim wakes the next round
            claimed_at = loop.time()
            try:
                rows = await asyncio.to_thread(self._process_batch, BATCH, wake_sender)
            except Exception:  # e.g. the database is briefly unavailable: keep the loop alive
                log.exception("worker: claiming inbox rows failed")
                rows = []
            # Claim again at once only when rows are known to wait: a full batch, or a chat's next message
            # (claimable now that the one before it is done). New messages wake the worker themselves.
            if not (len(rows) == BATCH or any(row.has_next for row in rows)):
                await wait_any(self.wake, stop, self.rt.settings.worker_poll_seconds)
            await asyncio.sleep(claimed_at + claims.GATHER_SECONDS - loop.time())


def _deal(rows: list[Row], hands: int) -> list[list[Row]]:
    """The rows dealt round-robin into at most `hands` parts of at least PART rows each (fewer rows make one
    part), so that the oldest rows start first."""
    hands = min(hands, max(1, len(rows) // PART))
    return [part for part in (rows[n::hands] for n in range(hands)) if part]


class Service:
    """The worker and the sender together, as `troly serve` and `troly worker` run them."""

    def __init__(self, runtime: Runtime, engine: Engine, platforms: Mapping[str, Platform]) -> None:
        self.rt = runtime
        self.worker = Worker(runtime, engine)
        self.client = http_client(runtime.settings.send_timeout_seconds)
        self.sender = Sender(runtime, platforms, self.client)
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._listener: wakeups.Listener | None = None

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.worker.run(self.stop, self.sender)),
                       asyncio.create_task(self.sender.run(self.stop))]
        if self.rt.engine.dialect.name == "postgresql":  # messages stored by other processes wake this worker
            loop = asyncio.get_running_loop()
            self._listener = wakeups.Listener(self.rt.settings.database_url, lambda: self._notified(loop))
            self._listener.start()

    def _notified(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the listening thread. A worker already woken claims this message too (it clears its wake-up
        before claiming), so under load one round trip to the event loop per batch is enough, not one per message."""
        if not self.worker.wake.is_set():
            loop.call_soon_threadsafe(self.worker.wake.set)

    def wake(self) -> None:
        self.worker.wake.set()

    async def close(self) -> None:
        self.stop.set()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self.worker.close)
        await self.client.aclose()
