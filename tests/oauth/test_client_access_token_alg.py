"""``access_token_signed_response_alg``: a partner whose resource servers accept ES256 has
its access tokens signed in ES256 (a fraction of RS256's signing cost); every other client
follows the server's ``access_token_signing_alg`` (RS256 unless the operator chose ES256).
Set through dynamic registration, the console and the admin API; ID tokens keep their own
algorithm; Avain itself takes the tokens wherever it takes access tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.db import new_session
from idp.models import Client
from tests.admin.console import meta_csrf, session_for
from tests.conftest import authorize_params, exchange, follow_to_code

REGISTRATION_TOKEN = "initial-access-token-for-tests"  # tests/conftest.py


def _header(value: str) -> dict[str, Any]:
    """The JOSE header of a compact JWT, unverified."""
    head = value.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


def _verified(client: Any, value: str, alg: str) -> Any:
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    return jwt.decode(value, keys, algorithms=[alg])


def _client_credentials(client: Any, client_id: str, secret: str | None) -> dict[str, Any]:
    resp = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert resp.status_code == 200, resp.json
    body: dict[str, Any] = resp.json
    return body


def _stored_alg(app: Any, client_id: str) -> str | None:
    with app.app_context():
        s = new_session(app)
        found = s.get(Client, client_id)
        value = found.access_token_signed_response_alg if found else "missing"
        s.close()
    return value


def test_an_es256_partner_gets_es256_access_tokens_and_its_id_tokens_stay_rs256(
    client, make_user, make_client
):
    user = make_user()
    rp, secret = make_client(
        first_party=True,
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        access_token_signed_response_alg="ES256",
    )
    params, verifier = authorize_params(rp, scope="openid email offline_access")
    code = follow_to_code(client, params, user.email)["code"]
    tokens = exchange(client, rp, secret, code, verifier).json
    access = _verified(client, tokens["access_token"], "ES256")
    assert access.header["typ"] == "at+jwt" and access.claims["client_id"] == rp.client_id
    assert _verified(client, tokens["id_token"], "RS256").header["alg"] == "RS256"
    # refreshed tokens too, and client_credentials
    resp = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(rp.client_id, secret),
    )
    assert resp.status_code == 200, resp.json
    assert _header(resp.json["access_token"])["alg"] == "ES256"
    assert _header(resp.json["id_token"])["alg"] == "RS256"
    cc = _client_credentials(client, rp.client_id, secret)
    assert _header(cc["access_token"])["alg"] == "ES256"
    # Avain takes them where it takes any access token
    auth = {"Authorization": f"Bearer {resp.json['access_token']}"}
    assert client.get("/userinfo", headers=auth).status_code == 200
    info = client.post(
        "/introspect", data={"token": resp.json["access_token"]}, auth=(rp.client_id, secret)
    )
    assert info.json["active"] is True


def test_other_clients_follow_the_server_setting(client, make_client):
    rp, secret = make_client(grant_types=["client_credentials"])
    assert rp.access_token_signed_response_alg is None
    token = _client_credentials(client, rp.client_id, secret)["access_token"]
    assert _verified(client, token, "RS256").header["alg"] == "RS256"


@pytest.fixture
def registration() -> dict[str, str]:
    return {"Authorization": f"Bearer {REGISTRATION_TOKEN}"}


def _register(client: Any, headers: dict[str, str], **meta: Any) -> Any:
    body = {"client_name": "Korjaamo", "redirect_uris": ["https://garage.example/cb"], **meta}
    return client.post("/connect/register", json=body, headers=headers)


def test_dynamic_registration_sets_and_echoes_it(app, client, registration):
    resp = _register(
        client,
        registration,
        access_token_signed_response_alg="ES256",
        grant_types=["authorization_code", "client_credentials"],
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["access_token_signed_response_alg"] == "ES256"
    assert _stored_alg(app, resp.json["client_id"]) == "ES256"
    token = _client_credentials(client, resp.json["client_id"], resp.json["client_secret"])
    assert _header(token["access_token"])["alg"] == "ES256"
    # left out: the server's setting, and the answer does not claim one
    resp = _register(client, registration)
    assert resp.status_code == 201 and "access_token_signed_response_alg" not in resp.json
    assert _stored_alg(app, resp.json["client_id"]) is None


@pytest.mark.parametrize("value", ["HS256", "none", "es256", "", "RS512", 256, ["ES256"]])
def test_dynamic_registration_refuses_other_values(app, client, registration, value):
    resp = _register(client, registration, access_token_signed_response_alg=value)
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_client_metadata"
    assert "access_token_signed_response_alg" in resp.json["error_description"]


def test_the_console_sets_and_clears_it(app, client, make_client):
    rp, _ = make_client(name="Korjaamo")
    session_for(app, client, "partners")
    csrf = meta_csrf(client, "/admin/clients")
    url = f"/admin/clients/{rp.client_id}"
    page = client.get(url).data.decode()
    assert 'name="access_token_signed_response_alg"' in page
    assert "The server's setting (RS256)" in page

    def save(alg: str) -> Any:
        form = {
            "client_name": "Korjaamo",
            "redirect_uris": "https://rp.example.com/cb",
            "post_logout_redirect_uris": "https://rp.example.com/bye",
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
            "subject_type": "public",
            "scope": "openid profile",
            "id_token_signed_response_alg": "RS256",
            "access_token_signed_response_alg": alg,
            "csrf_token": csrf,
        }
        return client.post(url, data=form)

    resp = save("ES256")
    assert resp.status_code == 302, resp.data[:500]
    assert _stored_alg(app, rp.client_id) == "ES256"
    assert "<option selected>ES256</option>" in client.get(url).data.decode()
    resp = save("HS256")
    assert resp.status_code == 400
    assert b"access_token_signed_response_alg must be RS256 or ES256" in resp.data
    assert _stored_alg(app, rp.client_id) == "ES256"
    assert save("").status_code == 302
    assert _stored_alg(app, rp.client_id) is None
