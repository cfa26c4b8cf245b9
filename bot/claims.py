"""Claiming queue rows under a lease in one statement, safe when several workers claim at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Boolean, Integer, Table, bindparam, exists, literal_column, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

# The least time from one claim of a queue to the next. Under load rows then gather between claims, so that a
# claim and a transaction serve many rows: at a claim per wake-up, batches of two or three cost the worker twice
# the CPU per message of full ones. When messages come slower than this, it adds no wait.
GATHER_SECONDS = 0.02


def claim_statement(table: Table, waiting: str, *due: ColumnElement[bool]):
    """UPDATE … RETURNING the first waiting row of each chat that nobody holds a lease on.

    Parameters: `now`, `until` (the new lease) and `limit`. On PostgreSQL the candidates are picked with
    FOR UPDATE SKIP LOCKED, so concurrent workers take different rows instead of queueing on the same ones
    (SQLite, one writer at a time, compiles it away). The outer WHERE repeats the lease test, so of two
    workers that picked the same row only one gets it (PostgreSQL re-checks it after the row lock).

    Each row comes back with `has_next`: whether a waiting row of the same chat comes after it. That one
    becomes claimable when this one is closed, so the claimer knows when to claim again at once instead
    of claiming again after every row just in case (an empty claim cost as much as a full one).
    """
    earlier = table.alias("earlier")
    # "id + 0": so that only the chat's index can find a chat's other waiting rows. Without statistics (a new
    # table) or with stale ones (a backlog after an outage) PostgreSQL otherwise walked the (status, id) index
    # through every waiting row for each candidate: 0.8 s per claim with 2,000 messages waiting, not 10 ms.
    first_of_chat = ~exists().where(earlier.c.platform == table.c.platform, earlier.c.chat_id == table.c.chat_id,
                                    earlier.c.status == waiting, earlier.c.id + literal_column("0") < table.c.id)
    # Written out: SQLAlchemy compiles SQLite's RETURNING without table names, which would compare `later`
    # with itself. `waiting` is one of our status constants, never outside input.
    name = table.name
    has_next = literal_column(f"EXISTS (SELECT 1 FROM {name} AS later WHERE later.platform = {name}.platform "
                              f"AND later.chat_id = {name}.chat_id AND later.status = '{waiting}' "
                              f"AND later.id + 0 > {name}.id)", Boolean)
    free = or_(table.c.lease_until.is_(None), table.c.lease_until < bindparam("now"))
    # MATERIALIZED: PostgreSQL would otherwise re-run the locking subquery for each row it joins, and every
    # re-run skips the rows already taken and hands out new ones, far past the limit.
    candidates = (select(table.c.id).where(table.c.status == waiting, first_of_chat, free, *due)
                  .order_by(table.c.id).limit(bindparam("limit", type_=Integer))
                  .with_for_update(skip_locked=True)
                  .cte("candidates").prefix_with("MATERIALIZED", dialect="postgresql"))
    return (update(table).where(table.c.id.in_(select(candidates.c.id)), table.c.status == waiting, free)
            .values(lease_until=bindparam("until"), attempts=table.c.attempts + 1)
            .returning(*table.c, has_next.label("has_next")))


def claim(session: Session, statement, now: datetime, lease: timedelta, limit: int) -> list[Row]:
    """Run a claim statement and commit; the leased rows come back in id order.

    Plain read-only rows (columns as attributes), not ORM objects: building a SQLModel object validates
    every field and cost more CPU than the claim itself. Rows are closed with Core UPDATEs by id."""
    found = session.connection().execute(statement, {"now": now, "until": now + lease, "limit": limit}).all()
    session.commit()
    return sorted(found, key=lambda row: row.id)
