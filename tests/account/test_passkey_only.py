"""Passkeys only: the password goes only with a confirmed email, an explicit confirmation
and a passkey proven minutes ago; afterwards the account offers "Set a password", which
asks for a fresh passkey instead of a password the account no longer has."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.models import User
from tests.auth.passkey_flows import meta_csrf, passkey_sign_in, post_json, register_passkey
from tests.auth.soft_authenticator import SoftAuthenticator
from tests.conftest import csrf_of, login

NEW = "a fresh long password"


def drop(client, **extra):
    page = client.get("/account/security")
    return client.post(
        "/account/security",
        data={"action": "passkey_only", "csrf_token": csrf_of(page.data), **extra},
    )


def has_password(db, user) -> bool:
    db.expire_all()
    return db.get(User, user.id).password_hash is not None


def confirm_with_passkey(client, authenticator, next_url="/account/security/passkey-only"):
    csrf = meta_csrf(client, "/account/security")
    options = post_json(client, "/passkeys/confirm/options", {}, csrf).json
    return post_json(
        client,
        "/passkeys/confirm/verify",
        {"credential": authenticator.assert_(options), "next": next_url},
        csrf,
    )


def test_one_click_is_not_enough(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    passkey_sign_in(client, authenticator)
    resp = drop(client)  # no confirmation ticked
    assert resp.location == "/account/security/passkey-only?step=not_confirmed"
    assert has_password(db, user)
    page = client.get(resp.location).data.decode()
    assert "Tick the box to confirm that you want to remove your password." in page


def test_an_unconfirmed_email_keeps_the_password(client, db, make_user):
    user = make_user(verified=False)
    authenticator = register_passkey(client, user)
    passkey_sign_in(client, authenticator)
    resp = drop(client, confirm="yes")
    assert resp.location == "/account/security/passkey-only?step=unconfirmed_email"
    assert has_password(db, user)
    page = client.get("/account/security/passkey-only").data.decode()
    assert "Confirm your email address first" in page
    assert 'value="passkey_only"' not in page  # no way to submit from the page either


def test_a_password_session_must_confirm_with_a_passkey_first(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    login(client, user.email)  # by password: not a fresh passkey
    assert drop(client, confirm="yes").location.endswith("?step=not_fresh")
    assert has_password(db, user)
    page = client.get("/account/security/passkey-only").data.decode()
    assert 'id="passkey-confirm"' in page and 'value="passkey_only"' not in page

    resp = confirm_with_passkey(client, authenticator)
    assert resp.status_code == 200 and resp.json["redirect"] == "/account/security/passkey-only"
    page = client.get("/account/security/passkey-only").data.decode()
    assert 'value="passkey_only"' in page
    assert drop(client, confirm="yes").location == "/account/security?notice=security_passkey_only"
    assert not has_password(db, user)


def test_a_passkey_sign_in_goes_stale(client, db, make_user, monkeypatch):
    from idp.auth import freshness

    user = make_user()
    authenticator = register_passkey(client, user)
    passkey_sign_in(client, authenticator)
    monkeypatch.setattr(freshness, "FRESH", timedelta(0))  # minutes have passed
    assert drop(client, confirm="yes").location.endswith("?step=not_fresh")
    assert has_password(db, user)


def test_someone_elses_passkey_confirms_nothing(app, client, db, make_user):
    mine, theirs = make_user(), make_user()
    register_passkey(client, mine)
    stranger = register_passkey(app.test_client(), theirs, SoftAuthenticator())
    login(client, mine.email)
    resp = confirm_with_passkey(client, stranger)
    assert resp.status_code == 401
    assert drop(client, confirm="yes").location.endswith("?step=not_fresh")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/login"])
def test_the_confirmation_returns_only_to_the_account_pages(client, make_user, target):
    user = make_user()
    authenticator = register_passkey(client, user)
    login(client, user.email)
    resp = confirm_with_passkey(client, authenticator, target)
    assert resp.json["redirect"] == "/account/security"


def test_without_a_password_the_account_offers_set_a_password(client, db, make_user, monkeypatch):
    from idp.auth import freshness

    user = make_user()
    authenticator = register_passkey(client, user)
    passkey_sign_in(client, authenticator)
    drop(client, confirm="yes")
    security = client.get("/account/security").data.decode()
    assert "Set a password" in security and "Change password" not in security

    page = client.get("/account/password").data.decode()
    assert "<h1>Set a password</h1>" in page
    assert "current_password" not in page  # there is none to ask for

    monkeypatch.setattr(freshness, "FRESH", timedelta(0))
    stale = client.get("/account/password").data.decode()
    assert 'id="passkey-confirm"' in stale and "new_password" not in stale
    form = {"new_password": NEW, "new_password_confirm": NEW, "csrf_token": csrf_of(stale)}
    resp = client.post("/account/password", data=form)
    assert resp.status_code == 400 and "confirm with your passkey first" in resp.data.decode()
    assert not has_password(db, user)

    monkeypatch.setattr(freshness, "FRESH", timedelta(minutes=5))
    assert confirm_with_passkey(client, authenticator, "/account/password").status_code == 200
    resp = client.post("/account/password", data=form)
    assert resp.location == "/account/security?notice=password_set"
    assert has_password(db, user)
    client.post("/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")})
    assert login(client, user.email, NEW).status_code == 302


def test_setting_a_password_refuses_a_weak_one(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    passkey_sign_in(client, authenticator)
    drop(client, confirm="yes")
    page = client.get("/account/password")
    resp = client.post(
        "/account/password",
        data={
            "new_password": "short",
            "new_password_confirm": "short",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert resp.status_code == 400
    assert not has_password(db, user)


def test_confirming_needs_a_signed_in_customer_and_csrf(client, make_user):
    assert client.post("/passkeys/confirm/options").status_code in (302, 400, 401)
    login(client, make_user().email)
    assert client.post("/passkeys/confirm/options", json={}).status_code == 400  # no CSRF
