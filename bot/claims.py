"""Claiming queue rows under a lease in one statement, safe when several workers claim at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Integer, Table, bindparam, exists, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

T = TypeVar("T")


def claim_statement(table: Table, waiting: str, *due: ColumnElement[bool]):
    """UPDATE … RETURNING the first waiting row of each chat that nobody holds a lease on.

    Parameters: `now`, `until` (the new lease) and `limit`. On PostgreSQL the candidates are picked with
    FOR UPDATE SKIP LOCKED, so concurrent workers take different rows instead of queueing on the same ones
    (SQLite, one writer at a time, compiles it away). The outer WHERE repeats the lease test, so of two
    workers that picked the same row only one gets it (PostgreSQL re-checks it after the row lock).
    """
    earlier = table.alias("earlier")
    first_of_chat = ~exists().where(earlier.c.platform == table.c.platform, earlier.c.chat_id == table.c.chat_id,
                                    earlier.c.status == waiting, earlier.c.id < table.c.id)
    free = or_(table.c.lease_until.is_(None), table.c.lease_until < bindparam("now"))
    # MATERIALIZED: PostgreSQL would otherwise re-run the locking subquery for each row it joins, and every
    # re-run skips the rows already taken and hands out new ones, far past the limit.
    candidates = (select(table.c.id).where(table.c.status == waiting, first_of_chat, free, *due)
                  .order_by(table.c.id).limit(bindparam("limit", type_=Integer))
                  .with_for_update(skip_locked=True)
                  .cte("candidates").prefix_with("MATERIALIZED", dialect="postgresql"))
    return (update(table).where(table.c.id.in_(select(candidates.c.id)), table.c.status == waiting, free)
            .values(lease_until=bindparam("until"), attempts=table.c.attempts + 1)
            .returning(*table.c))


def claim(session: Session, model: type[T], statement, now: datetime, lease: timedelta, limit: int) -> list[T]:
    """Run a claim statement and commit; the leased rows come back in id order, ready to be updated."""
    found = session.connection().execute(statement, {"now": now, "until": now + lease, "limit": limit}).all()
    session.commit()
    return sorted((_detached(model, row) for row in found), key=lambda r: r.id)


def _detached(model: type[T], row: Row) -> T:
    """An ORM object for a returned row, known to be in the database (a later `session.add` updates it)."""
    obj = model(**row._mapping)
    make_transient_to_detached(obj)
    return obj
