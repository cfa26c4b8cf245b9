"""Alembic's entry point: migrate on the connection `bot.schema` hands over, inside its transaction."""

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext

from bot.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Các bản nâng cấp chạy qua `troly db upgrade` (bot.schema), không qua lệnh alembic.")


def render_item(kind: str, item: Any, _autogen: AutogenContext) -> str | bool:
    """Write SQLModel's column types as the SQLAlchemy types they wrap, so revisions never import sqlmodel."""
    if kind == "type" and type(item).__module__.startswith("sqlmodel"):
        return f"sa.{item.impl!r}"
    return False


# Batch mode lets future revisions alter tables on SQLite, which has almost no ALTER TABLE.
context.configure(connection=connection, target_metadata=metadata(), render_as_batch=True, compare_type=True,
                  render_item=render_item)
with context.begin_transaction():
    context.run_migrations()
