"""Alembic migrations of the database schema; `bot.schema` runs them (there is no alembic.ini)."""
