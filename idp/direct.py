"""Hot-path statements sent straight to the database driver, in the session's transaction.

SQLAlchemy's execution of a statement (the execution context, the cursor result and its
metadata, the ORM's loading) costs two to four times the CPU of the round trip itself:
on PostgreSQL a token and its customer read through the ORM cost 0.40 ms, the same
compiled Core statement 0.25 ms, and the same SQL on the driver's cursor 0.11 ms (issue
14; ``bench/README.md``). The few statements every token, userinfo, introspection and
sign-in request sends are therefore compiled by SQLAlchemy once per dialect, here, and run
on the driver's cursor of the session's own connection:

* the same SQL SQLAlchemy would send, with its parameters put through the same type
  processors (a time as SQLite stores it, JSON as text), and the values that come back
  through the same result processors, so a row reads alike either way;
* in the session's connection and transaction (or outside one, under
  :func:`idp.db.without_transaction`), so it commits and rolls back with everything else;
* ``before_cursor_execute`` and ``after_cursor_execute`` are fired for listeners on the
  engine, as SQLAlchemy fires them: the statement counts and the query-plan test see
  these statements like any other;
* a driver error is raised as SQLAlchemy's own (``IntegrityError``, ``OperationalError``),
  and a lost connection is invalidated, as SQLAlchemy does.

What it does not do, and refuses at compile time: defaults computed in Python (every
value is given), lists expanded into ``IN`` and other parameters rendered at execution,
and writes to a table the workers keep in memory (:data:`idp.cache.WATCHED`): the
session's events are what tell the other workers that such a row changed.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable

from idp import cache
from idp.db import Base, loaded

B = TypeVar("B", bound=Base)
Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # the parameters in order, for a positional paramstyle
    defaults: dict[str, Any]  # the statement's own bound values (a LIMIT, a literal)
    binds: dict[str, Processor]
    results: tuple[Processor | None, ...]  # one per column that comes back
    row: Callable[[Any], Any]  # a row of values as a named tuple (``row.pos``, ``row[0]``)


@dataclass(frozen=True)
class Done:
    rows: list[Any]  # named tuples, by the columns' names (a repeated name as ``_<index>``)
    rowcount: int

    def first(self) -> Any:
        return self.rows[0] if self.rows else None


class Statement:
    """A Core statement, compiled once per dialect, run on the driver's cursor."""

    def __init__(self, statement: Executable, given: tuple[str, ...] | None = None) -> None:
        """``given``: for an INSERT, the columns every execution gives (the others take
        their defaults in the database, or the statement is refused)."""
        self.statement = statement
        self.given = given
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect, self.given)
        return found

    def execute(self, session: Session, params: Mapping[str, Any]) -> Done:
        conn = session.connection()
        c = self.compiled(conn.dialect)
        values = dict(c.defaults)
        values.update(params)
        for name, process in c.binds.items():
            values[name] = process(values[name])
        args: Any = tuple(values[n] for n in c.names) if c.names is not None else values
        return _run(conn, c, args)


def _compile(statement: Executable, dialect: Dialect, given: tuple[str, ...] | None) -> _Compiled:
    if not isinstance(statement, ClauseElement):
        raise TypeError("a Core statement is needed")
    if getattr(statement, "table", None) in cache.WATCHED_TABLES:
        raise ValueError("a write to a table the workers keep in memory goes through the session")
    compiled: Any = statement.compile(
        dialect=dialect, column_keys=list(given) if given is not None else None
    )
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("a statement with defaults computed at execution cannot go direct")
    if any(b.expanding or b.literal_execute for b in compiled.binds.values()):
        raise ValueError("a statement with parameters rendered at execution cannot go direct")
    columns = compiled._result_columns
    results = tuple(entry.type._cached_result_processor(dialect, None) for entry in columns)
    row_type = namedtuple("Row", [entry.keyname for entry in columns], rename=True)  # type: ignore[misc]
    return _Compiled(
        sql=compiled.string,
        names=tuple(compiled.positiontup) if dialect.positional else None,
        defaults={
            name: bind.effective_value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        },
        binds=dict(compiled._bind_processors),
        results=results,
        row=row_type._make,
    )


def _run(conn: Connection, c: _Compiled, args: Any) -> Done:
    dbapi_conn: Any = conn.connection.dbapi_connection
    dispatch = conn.dispatch
    cursor = dbapi_conn.cursor()
    try:
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(conn, cursor, c.sql, args, None, False)
        cursor.execute(c.sql, args)
        raw = cursor.fetchall() if c.results else []
        rowcount = cursor.rowcount
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(conn, cursor, c.sql, args, None, False)
    except conn.dialect.loaded_dbapi.Error as e:
        lost = conn.dialect.is_disconnect(e, dbapi_conn, cursor)
        if lost:
            conn.invalidate(e)
        raise exc.DBAPIError.instance(
            c.sql,
            args,
            e,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from e
    finally:
        cursor.close()
    processors, make = c.results, c.row
    if any(processors):
        rows = [
            make(v if p is None or v is None else p(v) for p, v in zip(processors, r, strict=True))
            for r in raw
        ]
    else:
        rows = [make(r) for r in raw]
    return Done(rows, rowcount)


class Entity(Generic[B]):
    """How an ORM class's columns sit in a row read directly: their attribute names in the
    table's order, to put a slice of the row back together as an instance."""

    def __init__(self, cls: type[B]) -> None:
        mapper = cls.__mapper__
        if len(mapper.primary_key) != 1:
            raise ValueError(f"{cls.__name__}: only a single-column primary key is read back")
        self.cls = cls
        self.keys = tuple(mapper.get_property_by_column(col).key for col in mapper.local_table.c)
        self.width = len(self.keys)
        self.pk = self.keys.index(mapper.get_property_by_column(mapper.primary_key[0]).key)

    def of(self, session: Session, row: tuple[Any, ...], start: int = 0) -> B | None:
        """The instance of ``row[start:start + width]``, in ``session`` as if the ORM had
        loaded it (the one already there, if the session holds that row); None for the
        empty side of an outer join."""
        values = row[start : start + self.width]
        if values[self.pk] is None:
            return None
        key = self.cls.__mapper__.identity_key_from_primary_key((values[self.pk],))
        held: B | None = session.identity_map.get(key)
        if held is not None:
            return held
        return loaded(session, self.cls, dict(zip(self.keys, values, strict=True)))

    def found(self, session: Session, row: tuple[Any, ...], start: int = 0) -> B:
        """As :meth:`of`, for the side of the row that the statement always has."""
        instance = self.of(session, row, start)
        if instance is None:
            raise LookupError(f"the row holds no {self.cls.__name__}")
        return instance
