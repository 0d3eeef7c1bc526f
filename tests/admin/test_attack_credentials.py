"""Attack: taking over a partner's client by replacing how it proves itself at /token.

Rotating a secret needs a fresh passkey in the console and ``admin:dangerous`` in the API.
A ``private_key_jwt`` client's credential is its ``jwks``: whoever puts their own public key
there signs client assertions as the client and gets its tokens, exactly what a rotated
secret gives. So every change of the credential (the method or the keys) is as dangerous
as a rotation, by both ways in; other edits are not.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from idp.admin import sessions
from idp.db import new_session, utcnow
from idp.models import Client
from tests.admin.api.client import API, bearer
from tests.admin.console import meta_csrf, session_for

ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _key() -> ECKey:
    return ECKey.generate_key("P-256", {"kid": "rp-key"})


def _jwks(key: ECKey) -> dict:
    return {"keys": [key.as_dict(private=False)]}


def _token_with(client, client_id: str, key: ECKey):
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": "http://localhost/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION,
        "client_assertion": assertion,
    }
    return client.post("/token", data=data)


def _stored_jwks(app, client_id: str):
    with app.app_context():
        s = new_session(app)
        found = s.get(Client, client_id)
        jwks = found.jwks if found else None
        s.close()
    return jwks


@pytest.fixture
def signed_key_client(make_client):
    key = _key()
    rp, _ = make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        post_logout_redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks=_jwks(key),
    )
    return rp, key


def _form(rp, jwks: dict, csrf: str, **fields: str) -> dict:
    import json

    return {
        "client_name": rp.client_name,
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "subject_type": "public",
        "scope": rp.scope,
        "id_token_signed_response_alg": "RS256",
        "jwks": json.dumps(jwks),
        "csrf_token": csrf,
        **fields,
    }


def test_console_replacing_the_keys_needs_a_fresh_passkey(
    app, client, signed_key_client, monkeypatch
):
    rp, key = signed_key_client
    session_for(app, client, "partners")
    csrf = meta_csrf(client, "/admin/clients")
    later = utcnow() + timedelta(minutes=6)  # the sign-in's passkey is no longer fresh
    monkeypatch.setattr(sessions, "clock", lambda: later)
    mine = _key()
    resp = client.post(f"/admin/clients/{rp.client_id}", data=_form(rp, _jwks(mine), csrf))
    assert resp.status_code == 403
    assert "/admin/reverify?next=" in resp.data.decode()
    assert _stored_jwks(app, rp.client_id) == _jwks(key)
    assert _token_with(client, rp.client_id, mine).json["error"] == "invalid_client"
    assert _token_with(client, rp.client_id, key).status_code == 200
    # the same keys sent back with another edit need no passkey
    renamed = _form(rp, _jwks(key), csrf, client_name="Renamed")
    assert client.post(f"/admin/clients/{rp.client_id}", data=renamed).status_code == 302


def test_console_replacing_the_keys_with_a_fresh_passkey_works(app, client, signed_key_client):
    rp, _ = signed_key_client
    session_for(app, client, "partners")  # just signed in: fresh
    csrf = meta_csrf(client, "/admin/clients")
    mine = _key()
    resp = client.post(f"/admin/clients/{rp.client_id}", data=_form(rp, _jwks(mine), csrf))
    assert resp.status_code == 302
    assert _stored_jwks(app, rp.client_id) == _jwks(mine)


def test_api_replacing_the_keys_needs_admin_dangerous(app, client, api_token, signed_key_client):
    rp, key = signed_key_client
    value, _ = api_token("partners")
    mine = _key()
    url = f"{API}/clients/{rp.client_id}"
    resp = client.patch(url, json={"jwks": _jwks(mine)}, headers=bearer(value))
    assert resp.status_code == 403 and resp.json["code"] == "dangerous_scope_required"
    resp = client.patch(url, json={"jwks": None}, headers=bearer(value))
    assert resp.status_code == 403
    assert _stored_jwks(app, rp.client_id) == _jwks(key)
    assert _token_with(client, rp.client_id, mine).json["error"] == "invalid_client"
    # the keys as they are, with another change: no danger
    resp = client.patch(url, json={"client_name": "Renamed"}, headers=bearer(value))
    assert resp.status_code == 200, resp.json

    strong, _ = api_token("partners", dangerous=True, scope="admin:partners admin:dangerous")
    resp = client.patch(url, json={"jwks": _jwks(mine)}, headers=bearer(strong))
    assert resp.status_code == 200, resp.json
    assert _token_with(client, rp.client_id, mine).status_code == 200


def _first_party(app, client_id: str) -> bool:
    from idp.models import Client

    with app.app_context():
        s = new_session(app)
        found = s.get(Client, client_id)
        assert found is not None
        value = found.first_party
        s.close()
    return value


def test_making_a_client_first_party_needs_a_fresh_passkey_or_admin_dangerous(
    app, client, api_token, signed_key_client, monkeypatch
):
    """A first-party client's customers are never asked: switching it on lets their claims
    flow without the consent screen, so it is as dangerous as a new credential."""
    rp, key = signed_key_client
    session_for(app, client, "partners")
    csrf = meta_csrf(client, "/admin/clients")
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    form = _form(rp, _jwks(key), csrf, first_party="on")
    assert client.post(f"/admin/clients/{rp.client_id}", data=form).status_code == 403
    assert _first_party(app, rp.client_id) is False
    monkeypatch.undo()  # the API's tokens are checked by the same clock

    value, _ = api_token("partners")
    url = f"{API}/clients/{rp.client_id}"
    resp = client.patch(url, json={"first_party": True}, headers=bearer(value))
    assert resp.status_code == 403 and resp.json["code"] == "dangerous_scope_required"
    assert _first_party(app, rp.client_id) is False
    strong, _ = api_token("partners", dangerous=True, scope="admin:partners admin:dangerous")
    resp = client.patch(url, json={"first_party": True}, headers=bearer(strong))
    assert resp.status_code == 200, resp.json
    assert _first_party(app, rp.client_id) is True
    # turning it off asks customers again: no passkey needed for that
    resp = client.patch(url, json={"first_party": False}, headers=bearer(value))
    assert resp.status_code == 200 and _first_party(app, rp.client_id) is False
