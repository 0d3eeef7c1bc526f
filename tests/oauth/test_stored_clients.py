"""Clients as they are stored, including rows written before the creation checks existed:
a client without the authorization code grant is never redirected to, and keys that cannot
verify an assertion make private_key_jwt fail with ``invalid_client``, not a server error."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from sqlalchemy import update

from idp.db import new_session
from idp.models import Client
from tests.conftest import authorize_params

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EC = ECKey.generate_key("P-256", parameters={"kid": "ec"})
RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa"})
OCT = OctKey.generate_key(256, parameters={"kid": "oct"})


def _store(app: Any, client_id: str, **columns: Any) -> None:
    """Write columns directly, as a row from before the checks (or a hand edit) would be."""
    with app.app_context():
        session = new_session(app)
        session.execute(update(Client).where(Client.client_id == client_id).values(**columns))
        session.commit()
        session.close()


# -- /authorize: no redirect, no form_post, to a client without the code grant --------------

STORED_REDIRECT_URIS = [
    "https://cc.example.com/cb",
    "http://evil.example/",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("mode", ["query", "form_post", "fragment"])
@pytest.mark.parametrize("uri", STORED_REDIRECT_URIS)
def test_authorize_shows_an_error_page_to_a_client_without_the_code_grant(
    app, client, make_client, uri, mode
):
    rp, _ = make_client(
        grant_types=["client_credentials"], redirect_uris=[], post_logout_redirect_uris=[]
    )
    _store(app, rp.client_id, redirect_uris=[uri], response_types=["code"])
    rp.redirect_uris = [uri]
    params, _ = authorize_params(rp, response_mode=mode)
    for resp in (
        client.get("/authorize", query_string=params, follow_redirects=True),
        client.post("/authorize", data=params, follow_redirects=True),
    ):
        assert resp.request.path == "/authorize"
        assert resp.status_code == 400, resp.headers.get("Location")
        assert "Location" not in resp.headers
        body = resp.get_data(as_text=True)
        assert 'id="form-post"' not in body and "X-Avain-Form-Action" not in resp.headers


def test_a_client_with_the_code_grant_still_gets_its_errors(app, client, make_client):
    rp, _ = make_client()
    params, _ = authorize_params(rp, scope="openid", prompt="none")
    resp = client.get("/authorize", query_string=params)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("https://rp.example.com/cb?error=login_required")


# -- private_key_jwt with stored keys that cannot be used -----------------------------------

UNUSABLE_STORED_JWKS = {
    "keys_not_a_list": {"keys": "garbage"},
    "keys_of_strings": {"keys": ["garbage"]},
    "empty": {"keys": []},
    "not_a_jwk_set": ["garbage"],
    "key_without_kty": {"keys": [{"n": "x"}]},
    "unreadable_rsa": {"keys": [{"kty": "RSA", "n": "!!!", "e": "AQAB", "kid": "rsa"}]},
    "rsa_n_not_a_string": {"keys": [{"kty": "RSA", "n": {"a": 1}, "e": "AQAB", "kid": "rsa"}]},
    "unreadable_ec": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"}]},
    "unknown_kty": {"keys": [{"kty": "XYZ", "kid": "ec"}]},
    "symmetric_key": {"keys": [OCT.as_dict()]},
    "private_key": {"keys": [EC.as_dict(private=True)]},
}


def _assertion(key: Any, alg: str, client_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": "http://localhost/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


@pytest.fixture
def jwt_client(app, make_client):  # type: ignore[no-untyped-def]
    rp, _ = make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        post_logout_redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [EC.as_dict(private=False)]},
    )
    return rp


def _token(client: Any, assertion: str) -> Any:
    return client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


@pytest.mark.parametrize("jwks", UNUSABLE_STORED_JWKS.values(), ids=UNUSABLE_STORED_JWKS.keys())
@pytest.mark.parametrize(("key", "alg"), [(EC, "ES256"), (RSA, "RS256"), (OCT, "HS256")])
def test_unusable_stored_jwks_is_invalid_client(app, client, jwt_client, jwks, key, alg):
    _store(app, jwt_client.client_id, jwks=jwks)
    resp = _token(client, _assertion(key, alg, jwt_client.client_id))
    assert resp.status_code in (400, 401), resp.data[:300]
    assert resp.json["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("key", "alg"), [(RSA, "RS256"), (OCT, "HS256")], ids=["wrong_key_type", "symmetric"]
)
def test_an_assertion_the_registered_key_cannot_verify_is_invalid_client(
    client, jwt_client, key, alg
):
    resp = _token(client, _assertion(key, alg, jwt_client.client_id))
    assert resp.status_code in (400, 401) and resp.json["error"] == "invalid_client"


def test_the_registered_key_still_works(client, jwt_client):
    assert _token(client, _assertion(EC, "ES256", jwt_client.client_id)).status_code == 200
