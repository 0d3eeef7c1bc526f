"""The request boundary (:func:`idp.db.commit`) after :func:`idp.db.without_transaction`:
the statements committed themselves, so the session's commit is left out, but only when
nothing is left to it: a pending ORM change is flushed, and a mark a commit hook waits on
(queued consent events, a changed cached table) still gets the real commit and its hooks."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from sqlalchemy import event, func, select

from idp.db import commit, end_session, get_session, new_session, without_transaction
from idp.models import User


def _count_users(app: Flask, email: str) -> int:
    with app.app_context():
        other = new_session(app)
        try:
            return int(other.scalar(select(func.count()).where(User.email == email)) or 0)
        finally:
            other.close()


def _commits(session: Any) -> list[int]:
    seen: list[int] = []
    event.listen(session, "after_commit", lambda _s: seen.append(1))
    return seen


def test_a_read_under_without_transaction_skips_the_commit(app: Flask) -> None:
    with app.test_request_context():
        session = get_session()
        without_transaction(session)
        session.execute(select(User.id).limit(1)).all()
        commits = _commits(session)
        commit()
        assert commits == []  # nothing ran: nothing was left to commit
        end_session()


def test_a_pending_orm_change_is_still_flushed_and_committed(app: Flask) -> None:
    email = f"commit-{secrets.token_hex(4)}@example.com"
    with app.test_request_context():
        session = get_session()
        without_transaction(session)
        session.execute(select(User.id).limit(1)).all()
        commits = _commits(session)
        session.add(User(email=email, name="Commit Test"))
        commit()
        assert commits == [1]
        end_session()
    assert _count_users(app, email) == 1


def test_a_mark_a_hook_waits_on_gets_the_real_commit(app: Flask) -> None:
    with app.test_request_context():
        session = get_session()
        without_transaction(session)
        session.execute(select(User.id).limit(1)).all()
        session.info["avain.some.hook"] = True  # e.g. events queued for the sequencer
        commits = _commits(session)
        commit()
        assert commits == [1]
        end_session()


def test_without_transaction_each_statement_is_durable_at_once(app: Flask) -> None:
    """What makes leaving the commit out safe: a write under ``without_transaction`` is
    visible to another connection before any commit, and a session closed unasked keeps
    it."""
    email = f"direct-{secrets.token_hex(4)}@example.com"
    with app.test_request_context():
        session = get_session()
        without_transaction(session)
        session.execute(
            User.__table__.insert().values(id=secrets.token_hex(8), email=email, name="D")
        )
        assert _count_users(app, email) == 1
        end_session()
    assert _count_users(app, email) == 1
