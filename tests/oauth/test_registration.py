"""Dynamic Client Registration 1.0 behind an initial access token."""

from __future__ import annotations

import pytest

from tests.conftest import authorize_params, exchange, follow_to_code

IAT = {"Authorization": "Bearer initial-access-token-for-tests"}
META = {
    "client_name": "Registered RP",
    "redirect_uris": ["https://reg.example.com/cb"],
    "grant_types": ["authorization_code", "refresh_token"],
    "post_logout_redirect_uris": ["https://reg.example.com/bye"],
    "backchannel_logout_uri": "https://reg.example.com/bc",
}


def test_registration_needs_the_initial_access_token(client):
    resp = client.post("/connect/register", json=META)
    assert resp.status_code == 401 and resp.json["error"] == "invalid_token"
    resp = client.post("/connect/register", json=META, headers={"Authorization": "Bearer no"})
    assert resp.status_code == 401


def test_registered_client_can_log_in(client, make_user):
    resp = client.post("/connect/register", json=META, headers=IAT)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["client_secret"] and body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == META["redirect_uris"]

    class RP:
        client_id = body["client_id"]
        redirect_uris = body["redirect_uris"]

    user = make_user()
    params, verifier = authorize_params(RP)
    code = follow_to_code(client, params, user.email)["code"]
    assert exchange(client, RP, body["client_secret"], code, verifier).status_code == 200


@pytest.mark.parametrize(
    ("meta", "error"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://a.example/cb"}, "invalid_client_metadata"),
        (
            {"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]},
            "invalid_client_metadata",
        ),
        (
            {
                "redirect_uris": ["https://a.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "invalid_client_metadata",
        ),
        (
            {
                "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
                "subject_type": "pairwise",
            },
            "invalid_client_metadata",
        ),
    ],
)
def test_bad_metadata_is_refused_with_the_rfc7591_error(client, meta, error):
    resp = client.post("/connect/register", json=meta, headers=IAT)
    assert resp.status_code == 400
    assert resp.json["error"] == error


def test_body_must_be_json(client):
    resp = client.post(
        "/connect/register", data="not json", headers=IAT, content_type="application/json"
    )
    assert resp.status_code == 400 and resp.json["error"] == "invalid_client_metadata"


def test_registration_off_without_initial_token(app_config, database_url, instance_dir):
    from idp import create_app

    app = create_app({**app_config, "initial_access_token": ""})
    client = app.test_client()
    assert "registration_endpoint" not in client.get("/.well-known/openid-configuration").json
    assert client.post("/connect/register", json=META, headers=IAT).status_code == 403
    app.extensions["avain.engine"].dispose()
