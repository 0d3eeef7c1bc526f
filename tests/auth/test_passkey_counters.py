"""Clone detection compares the signature counters itself (WebAuthn L3 §6.1.1, §7.2 step
22), after the signature is verified, and the passkey views check the session with real
checks instead of ``assert``.

Only an answer signed by the passkey can block it; a counter of 0 on both sides is an
authenticator that does not count; the wording of py_webauthn's messages plays no part.
"""

from __future__ import annotations

import dataclasses

import pytest
import webauthn
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from webauthn.helpers.exceptions import InvalidAuthenticationResponse

import idp.auth.passkey_views
import idp.auth.passkeys
import idp.sso.browser
from idp.models import Passkey
from tests.auth.passkey_flows import meta_csrf, passkey_sign_in, register_passkey
from tests.conftest import login


def _sign_out(client):
    client.post("/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")})


def _row(db, user):
    db.expire_all()
    return db.scalar(select(Passkey).where(Passkey.user_id == user.id))


def _used(client, authenticator, times):
    for _ in range(times):
        resp, _ = passkey_sign_in(client, authenticator)
        assert resp.status_code == 200, resp.json
        _sign_out(client)


def test_a_forged_answer_with_an_old_counter_does_not_block_the_passkey(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    _used(client, authenticator, 3)
    # the credential id and user handle are not secret; the private key is
    forger = dataclasses.replace(authenticator, key=ec.generate_private_key(ec.SECP256R1()))
    forged, _ = passkey_sign_in(client, forger, counter=1)
    assert forged.status_code == 401 and forged.json["error"] == "verification_failed"
    assert _row(db, user).blocked_at is None
    real, _ = passkey_sign_in(client, authenticator)
    assert real.status_code == 200, real.json


@pytest.mark.parametrize("counter", [3, 1, 0])
def test_a_signed_answer_whose_counter_did_not_rise_blocks(client, db, make_user, counter):
    user = make_user()
    authenticator = register_passkey(client, user)
    _used(client, authenticator, 3)
    clone, _ = passkey_sign_in(client, authenticator, counter=counter)
    assert clone.status_code == 400 and clone.json["error"] == "cloned"
    row = _row(db, user)
    assert row.blocked_at is not None and row.blocked_reason == "sign_count_rollback"


def test_an_authenticator_that_does_not_count_is_not_a_clone(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)  # registered with counter 0
    for _ in range(3):
        resp, _ = passkey_sign_in(client, authenticator, counter=0)
        assert resp.status_code == 200, resp.json
        _sign_out(client)
    row = _row(db, user)
    assert row.blocked_at is None and row.sign_count == 0


def test_a_counter_that_starts_later_is_taken_up(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    resp, _ = passkey_sign_in(client, authenticator, counter=7)
    assert resp.status_code == 200
    assert _row(db, user).sign_count == 7


def test_clone_detection_does_not_read_the_librarys_messages(client, db, make_user, monkeypatch):
    """py_webauthn may word its errors any way it likes (or check counters in any order)."""
    real = webauthn.verify_authentication_response

    def reworded(**kwargs):
        try:
            return real(**kwargs)
        except InvalidAuthenticationResponse:
            raise InvalidAuthenticationResponse("Response rejected") from None

    monkeypatch.setattr(idp.auth.passkeys, "verify_authentication_response", reworded)
    user = make_user()
    authenticator = register_passkey(client, user)
    _used(client, authenticator, 2)
    clone, _ = passkey_sign_in(client, authenticator, counter=1)
    assert clone.json["error"] == "cloned"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/passkeys/register/options", "json"),
        ("/passkeys/register/verify", "json"),
        ("/passkeys/x/rename", "form"),
        ("/passkeys/x/remove", "form"),
    ],
)
def test_a_signed_in_request_without_its_session_is_sent_to_sign_in(
    client, make_user, monkeypatch, path, kind
):
    """No ``assert``: with ``python -O`` it would vanish, without it it is a 500."""
    user = make_user()
    login(client, user.email)
    csrf = meta_csrf(client, "/account/")
    # the cookie names a session, but the server-side session is not found for the view
    monkeypatch.setattr(idp.sso.browser, "current_sso", lambda: None)
    monkeypatch.setattr(idp.auth.passkey_views, "current_sso", lambda: None, raising=False)
    if kind == "json":
        resp = client.post(path, json={}, headers={"X-CSRFToken": csrf})
    else:
        resp = client.post(path, data={"name": "x", "csrf_token": csrf})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
