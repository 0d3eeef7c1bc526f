"""Introspection (RFC 7662), revocation (RFC 7009), userinfo (OIDC Core §5.3), client credentials,
private_key_jwt (RFC 7523) and JWT access tokens (RFC 9068)."""

from __future__ import annotations

import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.conftest import authorize_params, exchange, follow_to_code


@pytest.fixture
def issued(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid email offline_access")
    code = follow_to_code(client, params, user.email)["code"]
    return rp, secret, user, exchange(client, rp, secret, code, verifier).json


def test_access_token_is_an_rfc9068_jwt(client, issued):
    rp, _, user, token = issued
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    decoded = jwt.decode(token["access_token"], keys)
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert claims["iss"] == "http://localhost"
    assert claims["client_id"] == rp.client_id
    assert claims["sub"] == user.id
    assert {"exp", "iat", "jti", "aud", "scope", "auth_time"} <= set(claims)


def test_introspection_of_active_and_revoked_tokens(client, issued):
    rp, secret, user, token = issued
    intro = client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(rp.client_id, secret)
    ).json
    assert intro["active"] is True
    assert intro["sub"] == user.id and intro["client_id"] == rp.client_id
    assert intro["token_type"] == "Bearer"
    resp = client.post(
        "/revoke",
        data={"token": token["access_token"], "token_type_hint": "access_token"},
        auth=(rp.client_id, secret),
    )
    assert resp.status_code == 200
    assert client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(rp.client_id, secret)
    ).json == {"active": False}
    # the refresh token lives on after revoking only the access token
    assert (
        client.post(
            "/introspect", data={"token": token["refresh_token"]}, auth=(rp.client_id, secret)
        ).json["active"]
        is True
    )


def test_revoking_the_refresh_token_ends_the_grant(client, issued):
    rp, secret, _, token = issued
    client.post("/revoke", data={"token": token["refresh_token"]}, auth=(rp.client_id, secret))
    for value in (token["refresh_token"], token["access_token"]):
        assert client.post(
            "/introspect", data={"token": value}, auth=(rp.client_id, secret)
        ).json == {"active": False}


def test_revoking_an_unknown_token_is_fine(client, issued):
    rp, secret, _, _ = issued
    assert (
        client.post("/revoke", data={"token": "nope"}, auth=(rp.client_id, secret)).status_code
        == 200
    )


def test_introspection_needs_client_authentication(client, issued):
    _, _, _, token = issued
    resp = client.post("/introspect", data={"token": token["access_token"]})
    assert resp.status_code in (400, 401)
    assert resp.json["error"] == "invalid_client"


def test_another_client_cannot_introspect(client, issued, make_client):
    _, _, _, token = issued
    other, other_secret = make_client(name="Other")
    resp = client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(other.client_id, other_secret)
    )
    # RFC 7662 §2.2: refused, or answered as inactive; never the token's details
    assert resp.json.get("active", False) is False
    assert set(resp.json) <= {"active", "error", "error_description"}
    assert resp.status_code != 200 or resp.json == {"active": False}


def test_userinfo_errors_follow_rfc6750(client, issued):
    resp = client.get("/userinfo")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = client.get("/userinfo", headers={"Authorization": "Bearer garbage"})
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_userinfo_challenges_where_authlib_sends_none(client, issued, make_user, make_client):
    """RFC 6750 §3.1: no token is a bare challenge; a token without ``openid`` is
    ``insufficient_scope`` (403) with the challenge too (Authlib's error sends none)."""
    resp = client.get("/userinfo", headers={"Authorization": "Basic abc"})
    assert resp.status_code == 401 and resp.json["error"] == "missing_token"
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="avain"'
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="email")
    code = follow_to_code(client, params, user.email)["code"]
    token = exchange(client, rp, secret, code, verifier).json
    assert "id_token" not in token
    resp = client.get("/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status_code == 403 and resp.json["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ({"headers": {"Authorization": "bearer {t}"}}, 200),  # the scheme is case-blind
        ({"headers": {"Authorization": "Bearer   {t}  "}}, 200),
        ({"headers": {"Authorization": "Bearer"}}, 401),
        ({"headers": {"Authorization": "Bearer "}}, 401),
        ({"headers": {"Authorization": "Token {t}"}}, 401),
        ({"query_string": {"access_token": "{t}"}}, 401),  # RFC 6750 §2.3: not taken
        ({"method": "POST", "json": {"access_token": "{t}"}}, 401),  # §2.2: a form only
        ({"method": "POST", "data": {"access_token": " {t} "}}, 200),
        (
            {
                "headers": {"Authorization": "Basic eDp5"},
                "method": "POST",
                "data": {"access_token": "{t}"},
            },
            200,
        ),
    ],
)
def test_userinfo_takes_the_token_where_rfc6750_puts_it(client, issued, how, expected):
    _, _, user, token = issued

    def filled(value):
        if isinstance(value, dict):
            return {k: filled(v) for k, v in value.items()}
        return value.replace("{t}", token["access_token"]) if isinstance(value, str) else value

    how = filled(how)
    resp = client.open("/userinfo", method=how.pop("method", "GET"), **how)
    assert resp.status_code == expected, resp.json
    if expected == 200:
        assert resp.json["email"] == user.email
    else:
        assert resp.json["error"] == "missing_token"
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="avain"'


def test_userinfo_refuses_tokens_that_name_no_live_customer(client, issued, make_client):
    """A client's own token (client credentials), a revoked one and a refresh token
    presented as an access token: ``invalid_token`` with the challenge, no claims."""
    rp, secret, _, token = issued
    cc, cc_secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    own = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(cc.client_id, cc_secret)
    ).json["access_token"]
    client.post("/revoke", data={"token": token["access_token"]}, auth=(rp.client_id, secret))
    for value in (own, token["access_token"], token["refresh_token"]):
        resp = client.get("/userinfo", headers={"Authorization": f"Bearer {value}"})
        assert resp.status_code == 401 and resp.json["error"] == "invalid_token"
        assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
        assert set(resp.json) == {"error", "error_description"}


def test_userinfo_by_post_form(client, issued):
    _, _, user, token = issued
    resp = client.post("/userinfo", data={"access_token": token["access_token"]})
    assert resp.status_code == 200 and resp.json["email"] == user.email


def test_client_credentials(client, make_client):
    rp, secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    resp = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(rp.client_id, secret),
    )
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert "refresh_token" not in body and "id_token" not in body
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    assert jwt.decode(body["access_token"], keys).claims["sub"] == rp.client_id


def test_grant_type_not_registered_is_unauthorized_client(client, make_client):
    rp, secret = make_client(first_party=True)
    resp = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, secret)
    )
    assert resp.json["error"] == "unauthorized_client"


def test_unknown_grant_type(client, make_client):
    rp, secret = make_client()
    resp = client.post(
        "/token", data={"grant_type": "password", "username": "x"}, auth=(rp.client_id, secret)
    )
    assert resp.json["error"] == "unsupported_grant_type"


def _assertion(key, client_id, aud, jti=None, exp_in=60):
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + exp_in,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


def test_private_key_jwt(client, make_client):
    key = ECKey.generate_key("P-256", {"kid": "rp-key"})
    rp, secret = make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    assert secret is None
    assertion = _assertion(key, rp.client_id, "http://localhost/token", jti="once")
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    assert client.post("/token", data=data).status_code == 200
    replay = client.post("/token", data=data)
    assert replay.status_code in (400, 401) and replay.json["error"] == "invalid_client"
    wrong_key = ECKey.generate_key("P-256", {"kid": "rp-key"})
    data["client_assertion"] = _assertion(wrong_key, rp.client_id, "http://localhost/token")
    assert client.post("/token", data=data).json["error"] == "invalid_client"
    data["client_assertion"] = _assertion(key, rp.client_id, "https://elsewhere/token")
    assert client.post("/token", data=data).json["error"] == "invalid_client"


def test_pairwise_subjects_differ_per_sector_and_are_stable(client, make_user, make_client):
    user = make_user()
    subs = []
    for host in ("shop.example.com", "garage.example.com", "shop.example.com"):
        rp, secret = make_client(
            first_party=True, subject_type="pairwise", redirect_uris=[f"https://{host}/cb"]
        )
        params, verifier = authorize_params(rp)
        token = exchange(
            client, rp, secret, follow_to_code(client, params, user.email)["code"], verifier
        ).json
        keys = KeySet.import_key_set(client.get("/jwks.json").json)
        subs.append(jwt.decode(token["id_token"], keys).claims["sub"])
        info = client.get(
            "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
        ).json
        assert info["sub"] == subs[-1]
    assert subs[0] != subs[1]
    assert subs[0] == subs[2]
    assert user.id not in subs


def test_es256_id_tokens_for_clients_that_ask(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True, id_token_signed_response_alg="ES256")
    params, verifier = authorize_params(rp)
    token = exchange(
        client, rp, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    decoded = jwt.decode(token["id_token"], keys, algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256"
