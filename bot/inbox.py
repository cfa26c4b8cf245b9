"""The durable inbox: record deliveries once, claim rows under a lease, close them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot import claims, wakeups
from bot.bulk import RowUpdate
from bot.messages import Attachment, ChatKind, IncomingMessage
from bot.privacy import mask
from bot.tables import InboxMessage
from knowledge.models import utcnow


@dataclass(frozen=True)
class _Insert:
    """The inbox insert compiled once per dialect, run on the DBAPI cursor of the caller's transaction.

    This is the webhook's hot path: SQLAlchemy's execution machinery cost more than the insert itself,
    so the statement and each column's conversion (the same ones SQLAlchemy applies) are prepared here."""

    sql: str
    names: tuple[str, ...] | None  # parameter order for positional paramstyles; None: by name
    convert: dict[str, Callable[[Any], Any]]

    @classmethod
    def build(cls, dialect: Dialect) -> _Insert:
        table = InboxMessage.__table__
        insert = (postgresql if dialect.name == "postgresql" else sqlite).insert
        statement = (insert(table).values({c.name: bindparam(c.name) for c in table.columns if c.name != "id"})
                     .on_conflict_do_nothing(index_elements=["platform", "message_id"]).returning(table.c.id))
        compiled = statement.compile(dialect=dialect)
        convert = {c.name: p for c in table.columns if (p := c.type.dialect_impl(dialect).bind_processor(dialect))}
        names = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        return cls(compiled.string, names, convert)

    def run(self, cursor: Any, row: dict[str, Any]) -> bool:
        """True if the row was new."""
        for name, convert in self.convert.items():
            if name in row:
                row[name] = convert(row[name])
        cursor.execute(self.sql, [row[n] for n in self.names] if self.names is not None else row)
        return bool(cursor.fetchall())


@lru_cache(maxsize=16)
def _insert(dialect: Dialect) -> _Insert:
    return _Insert.build(dialect)


class Unavailable(Exception):
    """The database could not take the messages (down, locked past the timeout, full)."""


def record(target: Session | Connection, messages: Iterable[IncomingMessage], now: datetime) -> int:
    """Store new messages in the caller's transaction; one already stored (a platform's retry) is left
    alone. Returns how many were new."""
    connection = target.connection() if isinstance(target, Session) else target
    return _store(connection.connection, connection.dialect, [messages], now)[0]


class Writer:
    """Records deliveries in transactions of their own on one DBAPI connection kept between them: the
    webhook's hot path, where a pool checkout and return per delivery cost as much as the insert.

    Used from one thread at a time. A connection that fails is dropped and the deliveries tried once more
    on a new one, as a pre-ping would; the unique key makes that retry harmless."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors = (SQLAlchemyError, engine.dialect.loaded_dbapi.Error)
        self._raw: Any = None

    def record(self, messages: Sequence[IncomingMessage], now: datetime) -> int:
        return self.record_all([messages], now)[0]

    def record_all(self, deliveries: Sequence[Iterable[IncomingMessage]], now: datetime) -> list[int]:
        """Several deliveries in one transaction; how many messages of each were new."""
        try:
            return self._record(deliveries, now)
        except self.errors:
            self._drop()
        try:
            return self._record(deliveries, now)
        except self.errors as error:
            self._drop()
            raise Unavailable(str(error)) from error

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def _record(self, deliveries: Sequence[Iterable[IncomingMessage]], now: datetime) -> list[int]:
        if self._raw is None:
            self._raw = self.engine.raw_connection()
        new = _store(self._raw, self.engine.dialect, deliveries, now)
        self._raw.commit()
        return new

    def _drop(self) -> None:
        """Close the connection and its unfinished transaction; the pool opens a new one when asked."""
        if self._raw is not None:
            self._raw.invalidate()
            self._raw = None


class GroupWriter:
    """PostgreSQL's side of the webhook: one thread writes, and the deliveries that arrive while it commits
    share its next transaction. A PostgreSQL commit waits for the disk, milliseconds when the database is
    busy; run on the event loop, as SQLite's commits of microseconds are, it let a process acknowledge one
    delivery at a time. Each delivery is still acknowledged only after the commit that holds it."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._waiting: list[tuple[Sequence[IncomingMessage], asyncio.Future[int]]] = []
        self._writing: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def record(self, messages: Sequence[IncomingMessage]) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test client's, one per request): the old one's are gone
            self._loop, self._waiting, self._writing = loop, [], None
        stored: asyncio.Future[int] = loop.create_future()
        self._waiting.append((messages, stored))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())
        return await stored

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                counts = await self._in_thread(self.writer.record_all, [m for m, _ in batch])
            except Unavailable as error:
                await self._one_by_one(batch, error)
            except BaseException as error:  # no waiter may be left hanging, whatever went wrong
                for _, stored in batch:
                    _settle(stored, error=Unavailable(repr(error)))
                raise
            else:
                for (_, stored), count in zip(batch, counts):
                    _settle(stored, count)

    async def _one_by_one(self, batch: list[tuple[Sequence[IncomingMessage], asyncio.Future[int]]],
                          error: Unavailable) -> None:
        """One bad delivery must not keep the others out: each on its own."""
        if len(batch) == 1:
            _settle(batch[0][1], error=error)
            return
        for messages, stored in batch:
            try:
                _settle(stored, await self._in_thread(self.writer.record, messages))
            except Unavailable as alone:
                _settle(stored, error=alone)

    async def _in_thread(self, write: Callable[..., Any], messages: object) -> Any:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="troly-inbox")
        return await asyncio.get_running_loop().run_in_executor(self._thread, write, messages, utcnow())

    def close(self) -> None:
        """At shutdown; a later delivery (a test's next client) opens them again."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        self.writer.close()


def _settle(future: asyncio.Future[int], count: int = 0, error: Exception | None = None) -> None:
    if future.done():  # its request was cancelled (the platform hung up); the messages are stored all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(count)


def _store(dbapi_connection: Any, dialect: Dialect, deliveries: Sequence[Iterable[IncomingMessage]],
           now: datetime) -> list[int]:
    """How many messages of each delivery were new; listeners are told once if any was."""
    insert = _insert(dialect)
    cursor = dbapi_connection.cursor()
    try:
        new = [sum(insert.run(cursor, _row(m, now)) for m in messages) for messages in deliveries]
        if any(new) and dialect.name == "postgresql":
            cursor.execute(wakeups.NOTIFY)
    finally:
        cursor.close()
    return new


def _row(m: IncomingMessage, now: datetime) -> dict:
    details = {
        "attachments": [[a.kind, a.url] for a in m.attachments],
        "mentions_bot": m.mentions_bot,
        "reply_to": m.reply_to,
        "from_human": m.from_human,
    }
    return dict(platform=m.platform, message_id=m.message_id, chat_id=m.chat_id, chat_kind=m.chat_kind.value,
                sender_id=m.sender_id, sender_name=m.sender_name, event=m.event, text=m.text, details=details,
                status="new", attempts=0, received_at=now, lease_until=None, decision=None, faq_id=None,
                processed_at=None, error=None)


def to_message(row: InboxMessage) -> IncomingMessage:
    d = row.details or {}
    return IncomingMessage(
        platform=row.platform, chat_id=row.chat_id, chat_kind=ChatKind(row.chat_kind), sender_id=row.sender_id,
        message_id=row.message_id, text=row.text, sender_name=row.sender_name,
        attachments=tuple(Attachment(kind, url) for kind, url in d.get("attachments", [])),
        mentions_bot=bool(d.get("mentions_bot")), reply_to=d.get("reply_to"), event=row.event,
        from_human=bool(d.get("from_human")),
    )


def claim(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[Row]:
    """Lease the oldest unfinished row of each chat not leased by someone else (so a chat keeps its order)."""
    return claims.claim(session, _claim_statement(), now, lease, limit)


@cache
def _claim_statement():
    """One UPDATE … RETURNING, built once: the worker runs it many times a second."""
    return claims.claim_statement(InboxMessage.__table__, "new")


@dataclass(frozen=True)
class Done:
    """A claimed row answered: what the bot did with it, for statistics."""

    row: Row
    decision: str | None = None
    faq_id: str | None = None


def finish(session: Session, row: Row, now: datetime, decision: str | None = None, faq_id: str | None = None) -> bool:
    """Mark a claimed row done; False if another worker took it over after the lease (then roll back)."""
    return finish_all(session, [Done(row, decision, faq_id)], now)


def finish_all(session: Session, done: Sequence[Done], now: datetime) -> bool:
    """Mark claimed rows done in one round trip; False if another worker took any of them over (then roll
    back, and finish them one by one to learn which)."""
    return _close(session, [_closed(d.row, status="done", processed_at=now, decision=d.decision, faq_id=d.faq_id,
                                    error=d.row.error) for d in done])


def give_up(session: Session, row: Row, now: datetime, error: str) -> bool:
    return _close(session, [_closed(row, status="failed", processed_at=now, decision=None, faq_id=None,
                                    error=error[:1000])])


def _closed(row: Row, **values: object) -> dict[str, object]:
    """The close's parameters: valid only under the claim that `row` came from (the claim counted `attempts`
    up, so a takeover changes it). The stored transcript keeps no personal numbers from here on."""
    return {"row_id": row.id, "claimed": row.attempts, "was": "new", "lease_until": None, "text": mask(row.text),
            **values}


def _close(session: Session, closes: list[dict[str, object]]) -> bool:
    """True when every row was closed (each id matches at most one row, so the counts tell)."""
    return _CLOSE.run(session, closes) == len(closes)


_CLOSE = RowUpdate(InboxMessage.__table__, match=(("id", "row_id"), ("status", "was"), ("attempts", "claimed")),
                   columns=("status", "processed_at", "decision", "faq_id", "error", "lease_until", "text"))
