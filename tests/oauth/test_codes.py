"""Authorization codes: single use, short-lived, bound to client and redirect URI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from idp.db import utcnow
from idp.models import AuthorizationCode
from tests.conftest import authorize_params, exchange, follow_to_code


def _code(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp)
    return rp, secret, follow_to_code(client, params, user.email)["code"], verifier


def test_reused_code_is_refused_and_revokes_what_it_issued(client, make_user, make_client):
    rp, secret, code, verifier = _code(client, make_user, make_client)
    first = exchange(client, rp, secret, code, verifier)
    assert first.status_code == 200
    access = first.json["access_token"]
    second = exchange(client, rp, secret, code, verifier)
    assert second.status_code == 400
    assert second.json["error"] == "invalid_grant"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert info.status_code == 401
    intro = client.post(
        "/introspect", data={"token": first.json["refresh_token"]}, auth=(rp.client_id, secret)
    )
    assert intro.json == {"active": False}


def test_expired_code_is_refused(client, db, make_user, make_client):
    rp, secret, code, verifier = _code(client, make_user, make_client)
    db.execute(update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    resp = exchange(client, rp, secret, code, verifier)
    assert resp.json["error"] == "invalid_grant"


def test_code_is_bound_to_the_client(client, make_user, make_client):
    rp, secret, code, verifier = _code(client, make_user, make_client)
    other, other_secret = make_client(name="Other")
    resp = exchange(client, other, other_secret, code, verifier)
    assert resp.json["error"] == "invalid_grant"


def test_redirect_uri_must_match_at_the_token_endpoint(client, make_user, make_client):
    rp, secret, code, verifier = _code(client, make_user, make_client)
    resp = client.post(
        "/token",
        auth=(rp.client_id, secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "https://rp.example.com/other",
        },
    )
    assert resp.json["error"] == "invalid_grant"


def test_wrong_secret_is_invalid_client(client, make_user, make_client):
    rp, secret, code, verifier = _code(client, make_user, make_client)
    resp = exchange(client, rp, "not-the-secret", code, verifier)
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"


def test_client_secret_post_works_for_a_client_registered_so(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True, token_endpoint_auth_method="client_secret_post")
    params, verifier = authorize_params(rp)
    code = follow_to_code(client, params, user.email)["code"]
    resp = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": rp.redirect_uris[0],
            "client_id": rp.client_id,
            "client_secret": secret,
        },
    )
    assert resp.status_code == 200, resp.json
