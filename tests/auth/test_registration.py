"""Registration tells nobody whether an address has an account, and is throttled per IP.

An address with an account gets the same answer as a new one (status, redirect, page, the
work done) and its owner a mail instead; a burst of registrations from one address is
held to the limit, on every backend and store.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from idp.auth import passwords
from idp.models import Delivery, User
from tests.burst import burst
from tests.catalogs import compile_catalogs
from tests.conftest import csrf_of

LIMIT = 3


@pytest.fixture
def app_config(app_config, store_url):
    return {**app_config, "registration_max_per_ip": LIMIT, "redis_url": store_url or ""}


@pytest.fixture
def hashes(monkeypatch):
    """Every Argon2 hash made, from any thread."""
    calls: list[str] = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: calls.append(p) or real(p))
    return calls


@pytest.fixture
def sent(monkeypatch):
    """Mail handed to SMTP by the outbox: (to, subject, body)."""
    from idp.auth import mailer

    mails: list[tuple[str, str, str]] = []
    monkeypatch.setattr(
        mailer, "send_mail", lambda s, to, subject, body, html: mails.append((to, subject, body))
    )
    return mails


def _form(client, email, **headers):
    page = client.get("/register", headers=headers)
    return {
        "name": "Uusi Asiakas",
        "email": email,
        "password": "a long new password",
        "password_confirm": "a long new password",
        "csrf_token": csrf_of(page.data),
    }


def _register(client, email, **headers):
    return client.post("/register", data=_form(client, email, **headers), headers=headers)


def _neutral(page: bytes, email: str) -> bytes:
    page = page.replace(email.encode(), b"ADDRESS").replace(
        email.replace("@", "%40").encode(), b"ADDRESS"
    )
    return re.sub(rb'(name="csrf[-_]token" (?:value|content))="[^"]+"', rb"\1", page)


def _delivered(app):
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)


def test_a_registered_address_gets_the_answer_a_new_one_gets(app, make_user, hashes):
    make_user(email="taken@example.com")
    hashes.clear()
    answers = {}
    for email in ("taken@example.com", "fresh@example.com"):
        client = app.test_client()
        resp = _register(client, email)
        page = client.get(resp.headers["Location"])
        answers[email] = (
            resp.status_code,
            resp.headers["Location"],
            page.status_code,
            _neutral(page.data, email),
            client.get("/account/").status_code,  # signed in?
        )
    assert answers["taken@example.com"] == answers["fresh@example.com"]
    assert answers["fresh@example.com"][0] == 302 and answers["fresh@example.com"][4] == 302
    assert len(hashes) == 2  # one Argon2 hash each: the same work


def test_the_owner_is_mailed_instead_and_a_new_address_gets_its_link(app, db, make_user, sent):
    owner = make_user(email="taken@example.com", password="the owners own password")
    _register(app.test_client(), "taken@example.com")
    _register(app.test_client(), "fresh@example.com")
    _delivered(app)
    mails = {to: (subject, body) for to, subject, body in sent}
    assert set(mails) == {"taken@example.com", "fresh@example.com"}
    subject, body = mails["taken@example.com"]
    assert subject == "Someone tried to register your address at Avain"
    assert "http://localhost/login" in body and "http://localhost/forgot" in body
    assert mails["fresh@example.com"][0] == "Confirm your email address for Avain"
    db.expire_all()
    # the owner's account is as it was: the attempt changed nothing
    assert passwords.verify("the owners own password", db.get(User, owner.id).password_hash)[0]
    assert db.scalar(select(User).where(User.email == "fresh@example.com")) is not None


@pytest.mark.parametrize(
    ("lang", "subject"),
    [
        ("fi", "Sähköpostiosoitteellasi yritettiin luoda uusi tili – Avain"),
        ("sv", "Någon försökte registrera din adress hos Avain"),
        ("en", "Someone tried to register your address at Avain"),
    ],
)
def test_the_owners_mail_is_in_their_language(app, make_user, sent, lang, subject):
    compile_catalogs()
    from idp.extensions import babel

    with app.app_context():
        babel.domain_instance.cache.clear()
    make_user(email="taken@example.com")
    _register(app.test_client(), "taken@example.com", **{"Accept-Language": lang})
    _delivered(app)
    assert [s for _, s, _ in sent] == [subject]


def test_registrations_are_throttled_per_ip(app, hashes, db):
    for i in range(LIMIT):
        assert _register(app.test_client(), f"new{i}@example.com").status_code == 302
    refused = _register(app.test_client(), "one-more@example.com")
    assert refused.status_code == 429
    assert b"Too many registrations" in refused.data
    assert len(hashes) == LIMIT
    assert db.scalar(select(User).where(User.email == "one-more@example.com")) is None


def test_a_burst_of_registrations_is_held_to_the_limit(app, hashes, db):
    responses = burst(
        app,
        16,
        lambda client, i, form: client.post("/register", data=form),
        lambda client, i: _form(client, f"burst{i}@example.com"),
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {302, 429}
    assert statuses.count(302) <= LIMIT
    assert len(hashes) <= LIMIT
    mail = db.scalars(select(Delivery).where(Delivery.kind == "mail")).all()
    assert len(mail) == statuses.count(302)


def test_parallel_registrations_of_one_new_address_make_one_account(app, db, sent):
    responses = burst(
        app,
        LIMIT,
        lambda client, i, form: client.post("/register", data=form),
        lambda client, i: _form(client, "twice@example.com"),
    )
    assert [r.status_code for r in responses] == [302] * LIMIT
    assert len(db.scalars(select(User).where(User.email == "twice@example.com")).all()) == 1
    _delivered(app)
    subjects = sorted(subject for to, subject, _ in sent)
    assert subjects.count("Confirm your email address for Avain") >= 1
    assert len(subjects) == LIMIT  # each attempt mailed the address, none failed
