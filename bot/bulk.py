"""One statement for many rows, each with its own values: the worker's and the sender's writes of a batch.

On PostgreSQL an executemany runs the statement once per row in a pipeline, which cost twice the CPU of one
statement joined to the rows' values passed as arrays (`unnest`), in psycopg and in the server alike. A
multi-row VALUES list is no better: its text changes with the number of rows and it has more than 50
parameters, so psycopg parsed it anew each time and the server planned it anew. The array statement's text
never changes: parsed once, and prepared by the server after a few runs. SQLite, in-process, runs the
executemany.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import JSON, Insert, Table, TextClause, Update, bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite
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
        return _arrays(self.table, self._names, rows)


@dataclass(frozen=True)
class RowInsert:
    """INSERT INTO `table` rows that give every one of `columns`; with `conflict` (the columns of a unique
    key), a row whose key is taken updates the other columns instead."""

    table: Table
    columns: tuple[str, ...]
    conflict: tuple[str, ...] = ()

    def run(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.conflict:  # one statement may not update a row twice: the last row of a key wins, as one by one
            rows = list({tuple(row[c] for c in self.conflict): row for row in rows}.values())
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(self._joined, _arrays(self.table, self.columns, rows))
        else:
            connection.execute(self._plain, list(rows))

    @cached_property
    def _plain(self) -> Insert:
        insert = sqlite.insert(self.table)
        if not self.conflict:
            return insert
        return insert.on_conflict_do_update(index_elements=list(self.conflict),
                                            set_={c: insert.excluded[c] for c in self._updated})

    @cached_property
    def _updated(self) -> list[str]:
        return [c for c in self.columns if c not in self.conflict]

    @cached_property
    def _joined(self) -> TextClause:
        # Names come from our table definitions, never from input; the values travel as bound arrays.
        dialect = postgresql.dialect()
        columns = ", ".join(self.columns)
        arrays = ", ".join(f"CAST(:{c} AS {self.table.c[c].type.compile(dialect=dialect)}[])" for c in self.columns)
        upsert = ""
        if self.conflict:
            sets = ", ".join(f"{c} = excluded.{c}" for c in self._updated)
            upsert = f" ON CONFLICT ({', '.join(self.conflict)}) DO UPDATE SET {sets}"
        return text(f"INSERT INTO {self.table.name} ({columns}) SELECT * FROM unnest({arrays}){upsert}")


def _arrays(table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """One array per parameter. A JSON value goes as its text: a list of lists would read as a 2-D array."""
    arrays = {name: [row[name] for row in rows] for name in names}
    for name in names:
        if name in table.c and isinstance(table.c[name].type, JSON):
            arrays[name] = [None if value is None else json.dumps(value) for value in arrays[name]]
    return arrays
