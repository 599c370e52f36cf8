"""The seed's option 2 (``BrainDatabase`` SQLite files) -> brainvcs states, one per session.

State layout of one session (one module per table, named after it; row ids are
dropped, row order is kept):

- ``session``: the ``brain_sessions`` row: ``session_name``, ``user_id``,
  ``created_at``, ``updated_at``, ``version`` (text exactly as stored) and
  ``metadata`` (parsed JSON);
- ``vocabulary``: word -> ``{neural_pattern, frequency, learned_at}``;
- ``neural_connections``: neuron id -> ``{connections, threshold,
  membrane_potential, learning_rate, spike_count}``;
- ``context_associations``: word -> list of ``{context_words, created_at}``, one
  entry per row in id order (the seed INSERTs a new row at every save);
- ``memory_states``: memory type (``working``, ``episodic``, any other) -> list
  of ``{content, timestamp}`` in id order;
- ``response_history``: list of ``{input_text, response_text,
  neural_intensity, cognitive_load, created_at}`` in id order.

SQL NULL becomes ``None``. Rows whose ``session_id`` names no session are
skipped: the seed's ``INSERT OR REPLACE`` gives a re-saved session a new id and
leaves the old rows behind.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from brainvcs.seed.json_file import (ANY, NUMBER, STRING, JsonValueProblem, ListOf, MapOf, Spec, format_json_path,
                                     loads_json_value)
from brainvcs.errors import InputFileError

__all__ = ["SeedSession", "read_seed_sqlite"]

#: The seed's schema: every table and column ``read_seed_sqlite`` needs.
SEED_TABLES: dict[str, tuple[str, ...]] = {
    "brain_sessions": ("id", "session_name", "user_id", "created_at", "updated_at", "version", "metadata"),
    "vocabulary": ("id", "session_id", "word", "neural_pattern", "frequency", "learned_at"),
    "neural_connections": (
        "id", "session_id", "neuron_id", "connections", "threshold", "membrane_potential",
        "learning_rate", "spike_count",
    ),
    "context_associations": ("id", "session_id", "word", "context_words", "created_at"),
    "memory_states": ("id", "session_id", "memory_type", "content", "timestamp"),
    "response_history": (
        "id", "session_id", "input_text", "response_text", "neural_intensity", "cognitive_load", "created_at",
    ),
}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQL_TYPE = {type(None): "null", int: "integer", float: "real", str: "text", bytes: "blob"}


@dataclass(frozen=True)
class SeedSession:
    """One ``brain_sessions`` row and the brain state its rows hold.

    ``created_at``/``updated_at`` are parsed for convenience (naive, as the seed
    wrote them); the exact stored text is in ``state["session"]``.
    """

    session_id: int
    session_name: str
    user_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    version: str | None
    metadata: Any
    state: dict[str, Any]


class _CellProblem(Exception):
    """A bad cell, located as ``<table> row <id>, column <column>``."""


class _Row:
    """One row's cells, with typed getters whose errors name table, row id and column."""

    def __init__(self, table: str, values: tuple[Any, ...]) -> None:
        self.table = table
        self.cells = dict(zip(SEED_TABLES[table], values))
        self.row_id = values[0]

    def fail(self, column: str, problem: str) -> NoReturn:
        """Raise ``_CellProblem`` for ``column`` of this row."""
        raise _CellProblem(f"{self.table} row {self.row_id}, column {column}: {problem}")

    def _typed(self, column: str, expected: str, types: tuple[type, ...], nullable: bool) -> Any:
        value = self.cells[column]
        if value is None and nullable:
            return None
        if not isinstance(value, types):
            self.fail(column, f"expected {expected}, got {_SQL_TYPE.get(type(value), type(value).__name__)}")
        return value

    def text(self, column: str, *, nullable: bool = True) -> str | None:
        """A TEXT cell (timestamps included: the seed stores them as text)."""
        value: str | None = self._typed(column, "text", (str,), nullable)
        return value

    def integer(self, column: str) -> int | None:
        """An INTEGER cell or NULL."""
        value: int | None = self._typed(column, "an integer", (int,), True)
        return value

    def real(self, column: str) -> float | int | None:
        """A REAL cell or NULL; infinities are refused (brainvcs stores finite numbers only)."""
        value: float | int | None = self._typed(column, "a number", (float, int), True)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(column, f"{value!r} is not allowed: brainvcs stores only finite numbers")
        return value

    def json(self, column: str, spec: Spec) -> Any:
        """A TEXT cell holding JSON, parsed and checked against ``spec``; NULL gives ``None``."""
        text = self.text(column)
        if text is None:
            return None
        try:
            value = loads_json_value(text)
            spec.check(value, ())
        except json.JSONDecodeError as exc:
            self.fail(column, f"invalid JSON ({exc.msg} at character {exc.pos})")
        except JsonValueProblem as problem:
            inside = f"{format_json_path(problem.path)}: " if problem.path else ""
            self.fail(column, f"{inside}{problem.problem}")
        return value


def _timestamp(row: _Row, column: str) -> datetime | None:
    text = row.text(column)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        row.fail(column, f"{text!r} is not an ISO 8601 timestamp")


class _SessionBuilder:
    """Collects one session's rows into its state."""

    def __init__(self, row: _Row) -> None:
        self.row = row
        self.vocabulary: dict[str, Any] = {}
        self.neurons: dict[str, Any] = {}
        self.contexts: dict[str, list[Any]] = {}
        self.memory: dict[str, list[Any]] = {"working": [], "episodic": []}
        self.responses: list[Any] = []
        self.first_row: dict[tuple[str, str], Any] = {}

    def claim(self, row: _Row, column: str, key: str) -> None:
        """Refuse a second row for a key the schema declares UNIQUE per session."""
        earlier = self.first_row.setdefault((row.table, key), row.row_id)
        if earlier != row.row_id:
            row.fail(column, f"{key!r} already appears in row {earlier} of the same session")

    def add(self, row: _Row) -> None:
        """File one row of a data table under this session."""
        if row.table == "vocabulary":
            word = row.text("word", nullable=False)
            assert word is not None
            self.claim(row, "word", word)
            self.vocabulary[word] = {
                "neural_pattern": row.json("neural_pattern", MapOf(ANY)),
                "frequency": row.integer("frequency"),
                "learned_at": row.text("learned_at"),
            }
        elif row.table == "neural_connections":
            neuron = row.text("neuron_id", nullable=False)
            assert neuron is not None
            self.claim(row, "neuron_id", neuron)
            self.neurons[neuron] = {
                "connections": row.json("connections", MapOf(NUMBER)),
                "threshold": row.real("threshold"),
                "membrane_potential": row.real("membrane_potential"),
                "learning_rate": row.real("learning_rate"),
                "spike_count": row.integer("spike_count"),
            }
        elif row.table == "context_associations":
            word = row.text("word", nullable=False)
            assert word is not None
            self.contexts.setdefault(word, []).append(
                {"context_words": row.json("context_words", ListOf(STRING)), "created_at": row.text("created_at")}
            )
        elif row.table == "memory_states":
            kind = row.text("memory_type", nullable=False)
            assert kind is not None
            self.memory.setdefault(kind, []).append(
                {"content": row.json("content", ANY), "timestamp": row.real("timestamp")}
            )
        else:
            self.responses.append({
                "input_text": row.text("input_text"),
                "response_text": row.text("response_text"),
                "neural_intensity": row.real("neural_intensity"),
                "cognitive_load": row.real("cognitive_load"),
                "created_at": row.text("created_at"),
            })

    def build(self) -> SeedSession:
        """The finished session."""
        row = self.row
        name = row.text("session_name", nullable=False)
        assert name is not None
        session = {
            "session_name": name,
            "user_id": row.text("user_id"),
            "created_at": row.text("created_at"),
            "updated_at": row.text("updated_at"),
            "version": row.text("version"),
            "metadata": row.json("metadata", ANY),
        }
        return SeedSession(
            session_id=row.row_id,
            session_name=name,
            user_id=session["user_id"],
            created_at=_timestamp(row, "created_at"),
            updated_at=_timestamp(row, "updated_at"),
            version=session["version"],
            metadata=session["metadata"],
            state={
                "session": session,
                "vocabulary": self.vocabulary,
                "neural_connections": self.neurons,
                "context_associations": self.contexts,
                "memory_states": self.memory,
                "response_history": self.responses,
            },
        )


def _check_schema(connection: sqlite3.Connection, name: str) -> None:
    kinds: dict[str, str] = {}
    for entry_name, kind, sql in connection.execute("SELECT name, type, sql FROM sqlite_master"):
        if kind == "table" and str(sql or "").lstrip().upper().startswith("CREATE VIRTUAL"):
            kind = "virtual table"
        kinds.setdefault(str(entry_name).lower(), str(kind))
    for table, columns in SEED_TABLES.items():
        kind = kinds.get(table)
        if kind is None:
            raise InputFileError(
                f"{name}: table {table!r} is missing", "this is not a complete database of the seed's BrainDatabase"
            )
        if kind != "table":
            # A view (or virtual table) runs the file's own query when read: a recursive one never ends.
            raise InputFileError(f"{name}: {table!r} is a {kind}, not a table",
                                 "the seed's BrainDatabase holds plain tables; this file was made by something else")
        present = {row[1].lower() for row in connection.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column not in present:
                raise InputFileError(f"{name}: table {table!r} has no column {column!r}")


def _read_sessions(connection: sqlite3.Connection) -> list[SeedSession]:
    builders: dict[int, _SessionBuilder] = {}
    columns = ", ".join(SEED_TABLES["brain_sessions"])
    for values in connection.execute(f"SELECT {columns} FROM brain_sessions ORDER BY id"):
        builders[values[0]] = _SessionBuilder(_Row("brain_sessions", values))
    for table, table_columns in SEED_TABLES.items():
        if table == "brain_sessions":
            continue
        # Table and column names come from SEED_TABLES, never from the file.
        for values in connection.execute(f"SELECT {', '.join(table_columns)} FROM {table} ORDER BY id"):
            builder = builders.get(values[1])
            if builder is not None:
                builder.add(_Row(table, values))
    return [builder.build() for builder in builders.values()]


class _WorkBudget:
    """A bound on SQLite's work for one import, proportional to the file's size (SQLite calls :meth:`tick`)."""

    #: SQLite virtual-machine instructions between two calls of :meth:`tick`.
    EVERY = 10_000
    #: Instructions allowed per byte of the file, and at least in all (reading a row costs tens).
    PER_BYTE = 2_000
    MINIMUM = 200_000_000

    def __init__(self, size: int) -> None:
        self.limit = max(self.MINIMUM, size * self.PER_BYTE)
        self.used = 0
        self.exhausted = False

    def tick(self) -> int:
        """Count one batch of work; a non-zero answer makes SQLite stop with an error."""
        self.used += self.EVERY
        self.exhausted = self.used > self.limit
        return int(self.exhausted)


def read_seed_sqlite(path: str | os.PathLike[str]) -> list[SeedSession]:
    """Every session of a seed ``BrainDatabase`` file, ordered by id, read without modifying it."""
    name = os.fspath(path)
    file = Path(path)
    try:
        with file.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if header != _SQLITE_MAGIC:
        # Checked by hand because SQLite opens an empty or missing file as an empty database.
        raise InputFileError(f"{name}: not a SQLite database", "expected the brain_data.db of the seed's BrainDatabase")
    uri = f"{file.resolve().as_uri()}?mode=ro"
    budget: _WorkBudget | None = None
    try:
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as connection:
            connection.execute("PRAGMA query_only = ON")
            connection.execute("PRAGMA temp_store = MEMORY")  # nothing spills into /var/tmp
            budget = _WorkBudget(file.stat().st_size)
            connection.set_progress_handler(budget.tick, _WorkBudget.EVERY)
            # One read transaction: every table is read from the same snapshot even if a writer is active.
            connection.execute("BEGIN")
            try:
                _check_schema(connection, name)
                return _read_sessions(connection)
            finally:
                # Nothing was written; ending the read transaction only releases the snapshot.
                if connection.in_transaction:
                    connection.rollback()
    except _CellProblem as problem:
        raise InputFileError(f"{name}: {problem}") from None
    except sqlite3.Error as exc:
        if budget is not None and budget.exhausted:
            raise InputFileError(f"{name}: reading the database took more work than a file of its size can need "
                                 f"({budget.limit:,} SQLite steps); stopped",
                                 "the file may be hostile (a query that never ends); check where it came from") from None
        raise InputFileError(f"{name}: cannot read the database: {exc}") from None
