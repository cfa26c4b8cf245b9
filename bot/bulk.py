"""One UPDATE for many rows, each with its own values: the worker's and the sender's closing writes.

On PostgreSQL an executemany runs the statement once per row in a pipeline, which cost twice the CPU of one
statement joined to the rows' values passed as arrays (`unnest`), in psycopg and in the server alike. SQLite,
in-process, runs the executemany.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import JSON, Table, TextClause, Update, bindparam, text, update
from sqlalchemy.dialects import postgresql
from sqlmodel import Session


@dataclass(frozen=True)
class RowUpdate:
    """UPDATE `table` SET each of `columns` to the parameter of its name, WHERE each `match` column equals its
    parameter ((column, parameter) pairs; parameter names must not be column names)."""

    table: Table
    match: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]

    def run(self, session: Session, rows: Sequence[dict[str, Any]]) -> int:
        """Apply the rows' values; returns how many table rows were changed."""
        if not rows:
            return 0
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return connection.execute(self._executemany, list(rows)).rowcount
        return connection.execute(self._joined, self._arrays(rows)).rowcount

    @cached_property
    def _executemany(self) -> Update:
        c = self.table.c
        return (update(self.table).where(*(c[column] == bindparam(name) for column, name in self.match))
                .values({column: bindparam(column) for column in self.columns}))

    @cached_property
    def _names(self) -> list[str]:
        return [name for _, name in self.match] + list(self.columns)

    @cached_property
    def _joined(self) -> TextClause:
        # Names come from our table definitions, never from input; the values travel as bound arrays.
        dialect = postgresql.dialect()
        names = self._names
        types = {name: self.table.c[column].type for column, name in self.match}
        types.update({column: self.table.c[column].type for column in self.columns})
        arrays = ", ".join(f"CAST(:{n} AS {types[n].compile(dialect=dialect)}[])" for n in names)
        sets = ", ".join(f"{column} = v.{column}" for column in self.columns)
        where = " AND ".join(f"{self.table.name}.{column} = v.{name}" for column, name in self.match)
        return text(f"UPDATE {self.table.name} SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}) "
                    f"WHERE {where}")

    def _arrays(self, rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
        """One array per parameter. A JSON value goes as its text: a list of lists would read as a 2-D array."""
        arrays = {name: [row[name] for row in rows] for name in self._names}
        for column in self.columns:
            if isinstance(self.table.c[column].type, JSON):
                arrays[column] = [None if value is None else json.dumps(value) for value in arrays[column]]
        return arrays
