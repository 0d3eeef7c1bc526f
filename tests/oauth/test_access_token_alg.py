"""``access_token_signing_alg``: JWT access tokens in ES256 for resource servers that accept
it (RFC 9068 §2.1 makes RS256 the one every resource server supports, so it stays the
default); ID tokens keep the client's registered algorithm."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.config import ConfigError, load_settings
from tests.conftest import authorize_params, exchange, follow_to_code
from tests.oauth.test_client_access_token_alg import _client_credentials, _header


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "access_token_signing_alg": "ES256"}


def _tokens(client: Any, make_user: Any, make_client: Any) -> dict[str, Any]:
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid email")
    code = follow_to_code(client, params, user.email)["code"]
    body: dict[str, Any] = exchange(client, rp, secret, code, verifier).json
    return body


def test_access_tokens_are_es256_and_verify_against_the_jwks(client, make_user, make_client):
    tokens = _tokens(client, make_user, make_client)
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    access = jwt.decode(tokens["access_token"], keys, algorithms=["ES256"])
    assert access.header["alg"] == "ES256" and access.header["typ"] == "at+jwt"
    # the ID token stays in the client's registered algorithm (RS256 by default)
    assert jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).header["alg"] == "RS256"
    # and the token works where Avain itself takes it
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200 and info.json["sub"]


def test_client_credentials_tokens_too(client, make_client):
    rp, secret = make_client(client_id="garage", grant_types=["client_credentials"])
    resp = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, secret)
    )
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    assert jwt.decode(resp.json["access_token"], keys).header["alg"] == "ES256"


def test_a_client_may_keep_rs256_where_the_server_signs_es256(app, client, make_client):
    pinned, secret = make_client(
        grant_types=["client_credentials"], access_token_signed_response_alg="RS256"
    )
    other, other_secret = make_client(grant_types=["client_credentials"])
    token = _client_credentials(client, pinned.client_id, secret)["access_token"]
    assert _header(token)["alg"] == "RS256"
    token = _client_credentials(client, other.client_id, other_secret)["access_token"]
    assert _header(token)["alg"] == "ES256"


@pytest.mark.parametrize("value", ["HS256", "none", "rs256", ""])
def test_other_algorithms_are_refused_at_start(value, monkeypatch):
    monkeypatch.setenv("IDP_ACCESS_TOKEN_SIGNING_ALG", value)
    monkeypatch.setenv("IDP_SECRET_KEY", "k" * 40)
    with pytest.raises(ConfigError, match="access_token_signing_alg"):
        load_settings()
