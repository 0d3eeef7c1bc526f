"""Customer mail goes through the outbox: a request only queues it, so ``/forgot`` does the
same work for a known and an unknown address; the outbox writes the mail when it sends
(no reset link waits in the database), retries failures and never sends one twice."""

from __future__ import annotations

import json
import re
import smtplib
import threading

import pytest
from sqlalchemy import select

import idp.auth.views
from idp.db import new_session
from idp.events import outbox
from idp.models import Delivery
from tests.burst import burst
from tests.clock import advance
from tests.conftest import csrf_of, login


@pytest.fixture
def mailer():
    """The outbox's mail sender."""
    from idp.auth import mailer

    return mailer


@pytest.fixture
def sent(monkeypatch, mailer):
    """Mail handed to SMTP: (thread name, to, subject, body), from wherever it is sent."""
    mails: list[tuple[str, str, str, str]] = []

    def record(settings, to, subject, body, html):
        mails.append((threading.current_thread().name, to, subject, body))

    monkeypatch.setattr(mailer, "send_mail", record)
    monkeypatch.setattr(idp.auth.views, "send_mail", record, raising=False)
    return mails


@pytest.fixture
def held(monkeypatch):
    """Requests queue mail but the outbox is not kicked: the test sends it when it likes."""
    monkeypatch.setattr(outbox, "kick", lambda app: None)


def _mail_rows(db):
    db.expire_all()
    return db.scalars(select(Delivery).where(Delivery.kind == "mail").order_by(Delivery.id)).all()


def _forgot(client, email):
    page = client.get("/forgot")
    return client.post("/forgot", data={"email": email, "csrf_token": csrf_of(page.data)})


def test_forgot_does_the_same_work_for_known_and_unknown_addresses(
    app, db, make_user, sent, held, mailer
):
    user = make_user()
    known = _forgot(app.test_client(), user.email)
    unknown = _forgot(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert sent == []  # nothing was sent while the customer waited
    rows = _mail_rows(db)
    assert [r.url for r in rows] == [f"mailto:{user.email}", "mailto:nobody@example.com"]
    assert rows[0].payload == rows[1].payload
    assert mailer.deliver_due(app) == 2
    assert [(to, subject) for _, to, subject, _ in sent] == [
        (user.email, "Reset your Avain password")
    ]
    assert all(r.delivered_at is not None and r.url == "mailto:" for r in _mail_rows(db))


def test_no_reset_link_waits_in_the_database(app, db, make_user, sent, held, mailer):
    user = make_user()
    _forgot(app.test_client(), user.email)
    (row,) = _mail_rows(db)
    assert json.loads(row.payload) == {"letter": "reset", "lang": "en"}
    mailer.deliver_due(app)
    (_, _, _, body) = sent[0]
    assert "http://localhost/reset/" in body
    assert "/reset/" not in _mail_rows(db)[0].payload


def test_the_reset_link_from_the_outbox_works(app, client, make_user, sent):
    user = make_user()
    _forgot(client, user.email)
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)
    ((thread_name, _, _, body),) = sent
    assert thread_name == "avain-outbox"
    link = body.split("http://localhost", 1)[1].split()[0]
    page = client.get(link)
    assert page.status_code == 200
    resp = client.post(
        link,
        data={
            "password": "brand new secret 1",
            "password_confirm": "brand new secret 1",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert resp.status_code == 200
    assert login(app.test_client(), user.email, "brand new secret 1").status_code == 302


def test_a_failed_send_is_retried_later(app, db, make_user, monkeypatch, held, mailer):
    user = make_user()
    _forgot(app.test_client(), user.email)

    def refuse(*args):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(mailer, "send_mail", refuse)
    assert mailer.deliver_due(app) == 1
    (row,) = _mail_rows(db)
    assert row.attempts == 1 and row.delivered_at is None and row.failed_at is None
    assert row.attempt_log[0]["error"] == "SMTPServerDisconnected"
    assert row.url == f"mailto:{user.email}"  # kept until it is sent
    assert mailer.deliver_due(app) == 0  # not yet due
    delivered: list[str] = []
    monkeypatch.setattr(mailer, "send_mail", lambda s, to, *mail: delivered.append(to))
    advance(monkeypatch, mailer.BACKOFF_BASE + 1)
    assert mailer.deliver_due(app) == 1
    assert delivered == [user.email]


def test_parallel_senders_send_each_mail_once(app, make_user, sent, held, mailer):
    users = [make_user() for _ in range(3)]
    for user in users:
        _forgot(app.test_client(), user.email)
    burst(app, 8, lambda client, i, _: mailer.deliver_due(app))
    assert sorted(to for _, to, _, _ in sent) == sorted(u.email for u in users)


def test_resending_the_verification_link_goes_through_the_outbox(
    app, make_user, sent, held, mailer
):
    user = make_user(verified=False)
    client = app.test_client()
    login(client, user.email)
    page = client.get("/verify/sent")
    client.post("/verify/resend", data={"csrf_token": csrf_of(page.data)})
    assert sent == []
    mailer.deliver_due(app)
    assert [(to, s) for _, to, s, _ in sent] == [
        (user.email, "Confirm your email address for Avain")
    ]
    session = new_session(app)
    try:
        (row,) = session.scalars(select(Delivery).where(Delivery.kind == "mail")).all()
        assert row.delivered_at is not None
    finally:
        session.close()


def test_mail_to_one_address_is_limited_and_the_answer_does_not_change(
    app, client, db, make_user, held
):
    """Nobody can flood a mailbox through /forgot, /register or the resend link: past the
    limit nothing more is queued for the address, and the page answers exactly as before."""
    user = make_user()
    limit = app.config["AVAIN"].mail_max_per_address
    pages = [_forgot(client, user.email) for _ in range(limit + 2)]
    assert {p.status_code for p in pages} == {200}
    token = re.compile(rb'(name="csrf[-_]token" (?:value|content))="[^"]+"')  # timestamped
    assert len({token.sub(rb"\1", p.data) for p in pages}) == 1
    assert len(_mail_rows(db)) == limit
    # registering with the address is one more mail to it: not sent either
    page = client.get("/register")
    resp = client.post(
        "/register",
        data={
            "email": user.email,
            "name": "Someone Else",
            "password": "another long passphrase",
            "password_confirm": "another long passphrase",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert resp.status_code == 302
    assert len(_mail_rows(db)) == limit
    # another address is not affected
    assert _forgot(client, "someone.else@example.com").status_code == 200
    assert len(_mail_rows(db)) == limit + 1
