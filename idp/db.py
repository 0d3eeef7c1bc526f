"""Database engine and per-request session.

The engine lives in ``app.extensions["avain.engine"]``; ``get_session()`` gives the
request's SQLAlchemy ``Session`` (kept on ``g``), which the request boundary commits
with ``commit()`` and which is rolled back and closed at teardown.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


B = TypeVar("B", bound=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upsert(session: Session) -> Any:
    """The ``insert`` with ``on_conflict_do_update`` of the session's dialect (SQLite and
    PostgreSQL both have ``INSERT ... ON CONFLICT ... RETURNING``)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10)
    _ping_when_idle(engine)
    return engine


#: a pooled connection unused for longer than this is tried before a request gets it
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout, i.e. on every
    request. A connection that a worker used a moment ago is as good as a ping; one that sat
    idle (where a restart, a failover or a firewall's idle cut shows) is tried first and
    replaced if it is dead. A connection cut while in use fails that one request; SQLAlchemy
    then invalidates the whole pool, so the worker's next requests connect afresh."""
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()
        except dbapi_error:
            raise DisconnectionError() from None  # the pool tries another connection


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["avain.engine"] = engine
    app.extensions["avain.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def new_session(app: Flask | None = None) -> Session:
    """A session outside any request (CLI, workers); the caller commits and closes."""
    factory: sessionmaker[Session] = (app or current_app).extensions["avain.sessionmaker"]
    return factory()


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = new_session()
    session: Session = g.db_session
    return session


def without_transaction(session: Session | None = None) -> None:
    """Send the request's statements outside a transaction, each one committed by itself.

    For an endpoint whose statements stand alone: reads, then at most single-row writes
    that need not land together (the token endpoint's client-credentials grant,
    introspection, userinfo). Under READ COMMITTED each statement reads its own snapshot
    in a transaction too, so nothing is seen differently; what goes is two round trips,
    the BEGIN (psycopg sends it apart, before the first statement) and the COMMIT. Has no
    effect once the session has sent a statement."""
    session = session or get_session()
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        session.info[_AUTOCOMMIT] = True


_WROTE = "avain.wrote"
_AUTOCOMMIT = "avain.autocommit"
#: in a session's ``info``: rows read ahead for a later step of the request, no mark
KEPT_READS = "avain.kept_reads"
#: what a session's ``info`` may hold when a commit has nothing to do after its statements
#: committed themselves; any other mark (events queued for the sequencer or the outbox, a
#: cached table changed) waits on the hooks a commit runs
_NOTHING_WAITS = frozenset({_WROTE, _AUTOCOMMIT, KEPT_READS})


def mark_written(session: Session) -> None:
    """Note a write sent outside the unit of work (a Core INSERT or UPDATE), which
    ``session.new`` and ``session.dirty`` do not show."""
    session.info[_WROTE] = True


def has_writes(session: Session) -> bool:
    """Whether the session holds anything to commit: pending ORM changes or a Core write
    noted by :func:`mark_written` in its open transaction."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE, False))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(_AUTOCOMMIT, None)
    session.info.pop(KEPT_READS, None)


def loaded(session: Session, cls: type[B], values: dict[str, Any]) -> B:
    """The instance of a row just written with a Core INSERT of ``values`` (every column),
    in ``session`` as if a query had read it: no constructor, no change events, nothing
    left to flush."""
    instance = cast(B, cls.__mapper__.class_manager.new_instance())
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def commit() -> None:
    """The request boundary: make the request's changes durable.

    Under :func:`without_transaction` every statement was committed as it ran; when the
    ORM holds nothing either and no commit hook waits, the session's commit would only
    walk its own machinery (a twentieth of a userinfo request), so it is left out.
    """
    session = get_session()
    if (
        session.info.get(_AUTOCOMMIT)
        and session.info.keys() <= _NOTHING_WAITS
        and not (session.new or session.dirty or session.deleted)
    ):
        return
    session.commit()


def _close_session(_exc: BaseException | None) -> None:
    end_session()


def end_session() -> None:
    """The request's session ends: closing it rolls back whatever it did not commit and
    gives the connection back. When the connection was lost meanwhile there is nothing left
    to roll back, and the answer made stands (at the teardown this was a 500 made after
    the answer)."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except SQLAlchemyError as exc:
        log.warning("rollback at the end of a request failed: %s", exc)
