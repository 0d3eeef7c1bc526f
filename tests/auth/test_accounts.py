"""Registration, email verification, password reset and change, through real SMTP (aiosmtpd)."""

from __future__ import annotations

import re
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import PASSWORD, csrf_of, login
from tests.live_server import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def app_config(app_config, smtp):
    controller, _ = smtp
    return {**app_config, "smtp_host": "127.0.0.1", "smtp_port": controller.port}


def delivered(app):
    """Wait for the outbox threads the requests kicked (mail goes out after the commit)."""
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)


def _link(message) -> str:
    (text,) = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    body = text.get_payload(decode=True).decode()
    match = re.search(r"http://localhost(/\S+)", body)
    assert match, body
    return match.group(1)


def _register(client, email="uusi@example.com", password="a long new password", name="Uusi"):
    page = client.get("/register")
    return client.post(
        "/register",
        data={
            "name": name,
            "email": email,
            "password": password,
            "password_confirm": password,
            "csrf_token": csrf_of(page.data),
        },
    )


def test_register_sends_a_verification_link_and_the_customer_signs_in(app, client, smtp):
    _, inbox = smtp
    resp = _register(client)
    assert resp.status_code == 302
    assert client.get("/account/").status_code == 302  # registering signs nobody in
    delivered(app)
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "uusi@example.com"
    assert login(client, "uusi@example.com", "a long new password").status_code == 302
    page = client.get("/account/")
    assert b"not confirmed" in page.data
    assert client.get(_link(mail)).status_code == 200
    assert b"(confirmed)" in client.get("/account/").data


@pytest.mark.parametrize(
    ("email", "password", "expected"),
    [
        ("not-an-email", "a long new password", b"valid email"),
        ("a@example.com", "short", b"at least 10"),
        ("a@example.com", "a@example.com", b"must not be your email"),
        ("a@example.com", "aaaaaaaaaaaa", b"too easy"),
    ],
)
def test_register_rejects_bad_input_with_a_message(client, email, password, expected):
    resp = _register(client, email=email, password=password)
    assert resp.status_code == 400
    assert expected in resp.data


def test_register_twice_with_the_same_address(app, client, make_user, smtp):
    _, inbox = smtp
    user = make_user(email="taken@example.com")
    resp = _register(client, email=user.email.upper())
    assert resp.status_code == 302  # as for a new address; the owner is told by mail
    delivered(app)
    assert [m["To"] for m in inbox.messages] == ["taken@example.com"]


def test_tampered_verification_link(client):
    resp = client.get("/verify/abc.def")
    assert resp.status_code == 400 and b"not valid" in resp.data


def test_password_reset_is_single_use_and_ends_other_sessions(app, client, make_user, smtp):
    _, inbox = smtp
    user = make_user(email="reset@example.com")
    other = app.test_client()
    login(other, user.email)
    page = client.get("/forgot")
    client.post("/forgot", data={"email": user.email, "csrf_token": csrf_of(page.data)})
    delivered(app)
    link = _link(inbox.messages[-1])
    page = client.get(link)
    resp = client.post(
        link,
        data={
            "password": "brand new secret 1",
            "password_confirm": "brand new secret 1",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert resp.status_code == 200
    assert client.get(link).status_code == 400  # used
    assert other.get("/account/").status_code == 302  # signed out everywhere
    assert login(client, user.email, "brand new secret 1").status_code == 302
    assert login(app.test_client(), user.email, PASSWORD).status_code == 401


def test_forgot_gives_the_same_answer_for_unknown_addresses(app, client, make_user, smtp):
    _, inbox = smtp
    user = make_user()
    page = client.get("/forgot")
    known = client.post("/forgot", data={"email": user.email, "csrf_token": csrf_of(page.data)})
    unknown = client.post(
        "/forgot", data={"email": "nobody@example.com", "csrf_token": csrf_of(page.data)}
    )
    assert known.status_code == unknown.status_code == 200
    token = re.compile(rb'(name="csrf[-_]token" (?:value|content))="[^"]+"')
    assert token.sub(rb"\1", known.data) == token.sub(rb"\1", unknown.data)
    delivered(app)
    assert len(inbox.messages) == 1


def test_change_password(client, make_user):
    user = make_user()
    login(client, user.email)
    page = client.get("/account/password")
    bad = client.post(
        "/account/password",
        data={
            "current_password": "wrong",
            "new_password": "another long one",
            "new_password_confirm": "another long one",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert bad.status_code == 400
    ok = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long one",
            "new_password_confirm": "another long one",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert ok.status_code == 302
    # the page says precisely what a change keeps: apps with offline access
    notice = client.get(ok.headers["Location"]).data
    assert b"other sessions were signed out" in notice and b"keep that access" in notice
