"""Passkey ceremonies through the test client with the software authenticator, shared by the
passkey tests: the page's CSRF token, JSON posts, registering a passkey, signing in with it."""

from __future__ import annotations

import re

from tests.auth.soft_authenticator import SoftAuthenticator
from tests.conftest import login


def meta_csrf(client, path="/login"):
    page = client.get(path).data.decode()
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def post_json(client, url, body, csrf):
    return client.post(url, json=body, headers={"X-CSRFToken": csrf})


def register_passkey(client, user, authenticator=None, name="Puhelin"):
    authenticator = authenticator or SoftAuthenticator()
    login(client, user.email)
    csrf = meta_csrf(client, "/account/")
    options = post_json(client, "/passkeys/register/options", {}, csrf).json
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    resp = post_json(
        client,
        "/passkeys/register/verify",
        {"credential": authenticator.register(options), "name": name},
        csrf,
    )
    assert resp.status_code == 200, resp.json
    client.post("/logout", data={"confirm": "yes", "csrf_token": csrf})
    return authenticator


def passkey_sign_in(client, authenticator, email=None, interaction=None, **lie):
    csrf = meta_csrf(client)
    body = {"email": email} if email else {}
    options = post_json(client, "/passkeys/login/options", body, csrf).json
    return post_json(
        client,
        "/passkeys/login/verify",
        {"credential": authenticator.assert_(options, **lie), "interaction": interaction},
        csrf,
    ), options
