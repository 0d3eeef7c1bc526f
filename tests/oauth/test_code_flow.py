"""The authorization code flow end to end through the Flask test client."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import authorize_params, exchange, follow_to_code


def test_code_flow_issues_tokens_and_id_token(client, make_user, make_client):
    user = make_user(email="aino@example.com")
    rp, secret = make_client()
    params, verifier = authorize_params(rp)
    callback = follow_to_code(client, params, user.email)
    assert callback["state"] == params["state"]
    assert callback["iss"] == "http://localhost"
    resp = exchange(client, rp, secret, callback["code"], verifier)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["token_type"] == "Bearer"
    assert resp.headers["Cache-Control"] == "no-store"
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    claims = jwt.decode(body["id_token"], keys).claims
    assert claims["sub"] == user.id
    assert claims["aud"] == rp.client_id
    assert claims["nonce"] == params["nonce"]
    assert claims["amr"] == ["pwd"]
    assert {"auth_time", "sid", "acr", "at_hash"} <= set(claims)
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json["email"] == "aino@example.com"
    assert info.json["sub"] == user.id
