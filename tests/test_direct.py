"""Statements sent straight to the driver (:mod:`idp.direct`) read and write exactly what
SQLAlchemy's own execution of the same statement does, on SQLite and PostgreSQL: the same
values of the same types, the same errors, the same events, in the session's transaction."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import String, Table, bindparam, event, exc, insert, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from idp import direct
from idp.db import aware, new_session
from idp.models import Client, Grant, Token, User
from tests.conftest import CI, PG_URL

_tokens, _users, _grants = (cast(Table, m.__table__) for m in (Token, User, Grant))

TOKEN_AND_CUSTOMER = select(_tokens, _users).select_from(
    _tokens.outerjoin(_users, _users.c.id == _tokens.c.user_id)
)
BY_JTI = TOKEN_AND_CUSTOMER.where(_tokens.c.jti == bindparam("jti"))
# the columns the rows below leave to the database (NULL, or the id)
LEFT = {"id", "sid", "acr", "revoked_at", "access_revoked_at", "refresh_used_at"}
LEFT |= {"refresh_expires_at"}
INSERT = direct.Statement(
    insert(_tokens), given=tuple(c.name for c in _tokens.c if c.name not in LEFT)
)


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        s = new_session(app)
        yield s
        s.rollback()
        s.close()


def _row(user: Any, client_id: str, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {
        "grant_id": "g-" + secrets.token_hex(8),
        "jti": secrets.token_urlsafe(12),
        "access_token_hash": secrets.token_hex(32),
        "refresh_token_hash": None,
        "client_id": client_id,
        "user_id": user.id if user else None,
        "scope": "openid profile",
        "grant_scope": "openid profile offline_access",
        "claims_request": {"userinfo": {"name": None, "ääkköset": {"essential": True}}},
        "amr": ["pwd", "hwk"],
        "auth_time": now - timedelta(minutes=3),
        "issued_at": now,
        "access_expires_at": now + timedelta(minutes=10),
    }
    row.update(over)
    return row


@pytest.fixture
def customer_and_client(make_user: Any, make_client: Any) -> tuple[Any, str]:
    user = make_user(name="Åsa Öberg")
    rp, _ = make_client(grant_types=["authorization_code", "client_credentials"])
    return user, rp.client_id


def test_a_row_written_direct_reads_back_alike_both_ways(
    session: Session, customer_and_client: tuple[Any, str]
) -> None:
    user, client_id = customer_and_client
    written = _row(user, client_id)
    done = INSERT.execute(session, written)
    assert done.rowcount == 1  # (on PostgreSQL the new id comes back, as SQLAlchemy asks)
    through_sqlalchemy = session.execute(BY_JTI, {"jti": written["jti"]}).one()
    direct_row = direct.Statement(BY_JTI).execute(session, {"jti": written["jti"]}).first()
    assert tuple(direct_row) == tuple(through_sqlalchemy)
    assert [type(v) for v in direct_row] == [type(v) for v in through_sqlalchemy]
    token = direct.Entity(Token).found(session, direct_row)
    assert token.claims_request == written["claims_request"]
    assert token.amr == ["pwd", "hwk"]
    assert aware(token.issued_at) == written["issued_at"]
    assert token.refresh_token_hash is None and token.revoked_at is None
    customer = direct.Entity(User).of(session, direct_row, direct.Entity(Token).width)
    assert customer is not None and customer.name == "Åsa Öberg"
    assert customer.email_verified is True


def test_a_missing_row_reads_as_none_and_an_outer_join_side_as_none(
    session: Session, customer_and_client: tuple[Any, str]
) -> None:
    _, client_id = customer_and_client
    assert direct.Statement(BY_JTI).execute(session, {"jti": "nobody"}).first() is None
    written = _row(None, client_id, claims_request=None, amr=None, auth_time=None)
    INSERT.execute(session, written)
    row = direct.Statement(BY_JTI).execute(session, {"jti": written["jti"]}).first()
    token = direct.Entity(Token).found(session, row)
    assert token.user_id is None and token.claims_request is None and token.amr is None
    assert direct.Entity(User).of(session, row, direct.Entity(Token).width) is None
    with pytest.raises(LookupError):
        direct.Entity(User).found(session, row, direct.Entity(Token).width)


def test_an_instance_already_in_the_session_is_the_one_returned(
    session: Session, customer_and_client: tuple[Any, str]
) -> None:
    user, client_id = customer_and_client
    written = _row(user, client_id)
    INSERT.execute(session, written)
    held = session.get(User, user.id)
    assert held is not None
    held.name = "Changed in this session"
    row = direct.Statement(BY_JTI).execute(session, {"jti": written["jti"]}).first()
    assert direct.Entity(User).of(session, row, direct.Entity(Token).width) is held
    assert held.name == "Changed in this session"
    first = direct.Entity(Token).found(session, row)
    assert direct.Entity(Token).found(session, row) is first
    first.scope = "openid"  # the ORM tracks an instance made from a direct row
    assert first in session.dirty


def test_writes_are_in_the_sessions_transaction(
    app: Flask, session: Session, customer_and_client: tuple[Any, str]
) -> None:
    user, client_id = customer_and_client
    written = _row(user, client_id)
    INSERT.execute(session, written)
    session.rollback()
    assert direct.Statement(BY_JTI).execute(session, {"jti": written["jti"]}).first() is None
    INSERT.execute(session, written)
    session.commit()
    with app.app_context():
        other = new_session(app)
        try:
            assert other.execute(BY_JTI, {"jti": written["jti"]}).first() is not None
        finally:
            other.close()


def test_an_update_counts_the_rows_it_changed(
    session: Session, customer_and_client: tuple[Any, str]
) -> None:
    user, client_id = customer_and_client
    written = _row(user, client_id)
    INSERT.execute(session, written)
    revoke = direct.Statement(
        update(_tokens)
        .where(_tokens.c.jti == bindparam("jti"), _tokens.c.revoked_at.is_(None))
        .values(revoked_at=bindparam("now"))
    )
    now = datetime.now(UTC)
    assert revoke.execute(session, {"jti": written["jti"], "now": now}).rowcount == 1
    assert revoke.execute(session, {"jti": written["jti"], "now": now}).rowcount == 0
    returning = direct.Statement(
        update(_tokens)
        .where(_tokens.c.jti == bindparam("jti"))
        .values(scope=bindparam("scope"))
        .returning(_tokens.c.scope, _tokens.c.claims_request)
    )
    done = returning.execute(session, {"jti": written["jti"], "scope": "openid"})
    assert done.first().scope == "openid"
    assert done.first().claims_request == written["claims_request"]


def test_a_driver_error_is_sqlalchemys_own_and_the_session_goes_on(
    session: Session, customer_and_client: tuple[Any, str]
) -> None:
    user, client_id = customer_and_client
    written = _row(user, client_id)
    INSERT.execute(session, written)
    with pytest.raises(exc.IntegrityError):
        INSERT.execute(session, dict(written, access_token_hash=secrets.token_hex(32)))
    session.rollback()
    INSERT.execute(session, _row(user, client_id))


def test_listeners_see_the_statement_and_its_parameters(
    app: Flask, session: Session, customer_and_client: tuple[Any, str]
) -> None:
    user, client_id = customer_and_client
    seen: list[tuple[str, Any]] = []
    after: list[str] = []

    def before(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    engine = app.extensions["avain.engine"]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", lambda *a: after.append(a[2]))
    try:
        direct.Statement(BY_JTI).execute(session, {"jti": "the jti"})
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert len(seen) == 1 and len(after) == 1
    sql, params = seen[0]
    assert "FROM tokens LEFT OUTER JOIN users" in sql
    assert "the jti" in (params.values() if isinstance(params, dict) else params)


def test_statements_it_cannot_send_as_sqlalchemy_would_are_refused(
    session: Session,
) -> None:
    # users.id takes its default in Python: only SQLAlchemy's execution computes it
    with pytest.raises(ValueError, match="defaults"):
        direct.Statement(insert(_users), given=("email", "name")).execute(
            session, {"email": "x@example.com", "name": "X"}
        )
    with pytest.raises(ValueError, match="rendered at execution"):
        direct.Statement(select(_users.c.id).where(_users.c.id.in_(bindparam("ids")))).execute(
            session, {"ids": ["a"]}
        )


@pytest.mark.parametrize(
    "database_url", ["postgresql"] if PG_URL or CI else [], indirect=True
)  # a server process to terminate is PostgreSQL's
def test_a_lost_connection_is_invalidated_and_the_next_session_reconnects(app: Flask) -> None:
    with app.app_context():
        victim = new_session(app)
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
        killer = new_session(app)
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.commit()
        killer.close()
        with pytest.raises(exc.DBAPIError) as raised:
            direct.Statement(BY_JTI).execute(victim, {"jti": "x"})
        assert raised.value.connection_invalidated
        victim.rollback()
        victim.close()
        fresh = new_session(app)
        try:
            assert direct.Statement(BY_JTI).execute(fresh, {"jti": "x"}).first() is None
        finally:
            fresh.close()


def test_an_entity_of_a_composite_key_is_refused() -> None:
    class Other(DeclarativeBase):
        pass

    class Pair(Other):
        __tablename__ = "pairs"
        left: Mapped[str] = mapped_column(String(8), primary_key=True)
        right: Mapped[str] = mapped_column(String(8), primary_key=True)

    with pytest.raises(ValueError, match="single-column primary key"):
        direct.Entity(Pair)  # type: ignore[type-var]


def test_a_write_to_a_table_the_workers_keep_is_refused(session: Session) -> None:
    """Such writes go through the session, whose events move the cache's counter
    (:mod:`idp.cache`); sent direct, other workers would keep the old row."""
    clients = cast(Table, Client.__table__)
    rename = update(clients).where(clients.c.client_id == "x").values(name=bindparam("name"))
    with pytest.raises(ValueError, match="keep in memory"):
        direct.Statement(rename).execute(session, {"name": "y"})
